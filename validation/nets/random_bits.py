"""Counter-based random bits for the large per-step draws of training (dropout masks,
input noise).

A counter-based generator (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
as 1, 2, 3", SC 2011) computes entry i of a draw as a keyed bijection of i, so a draw of
any shape is one elementwise program, the same under ``jax.vmap`` as net by net. JAX's
default Threefry-2x32 is such a generator too, but XLA's CPU code for it costs about
9 ms per step for the dropout masks of the paper's net (7 x 2560 x 100 entries), a third
of the step (``benchmarks/train_step.py``). Here a step's key is turned into two 32-bit
words by Threefry (one draw of two words), and entry i of the draw is

    x_i = mix(mix(i * 0x9E3779B9 + k_0) xor k_1),

with ``mix`` the "lowbias32" integer hash (C. Wellons, hash-prospector, 2018: xor-shift
16, multiply 0x7FEB352D, xor-shift 15, multiply 0x846CA68B, xor-shift 16), a bijection of
32-bit words with near-ideal avalanche. For fixed keys i -> x_i is a bijection, so the
entries of one draw never repeat a word. The draws are not for cryptography; what the
nets need (uniform words, independent entries, independent steps) is checked by
Monte Carlo in ``tests/nets/test_random_bits.py``.

The arrays stay at most 2^32 entries (the counter is 32 bits): far above a training
step's draws.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray, UInt32

GOLDEN = 0x9E3779B9  # 2^32 / golden ratio: a Weyl increment (odd, so i -> i G is a bijection)
MULTIPLIERS = (0x7FEB352D, 0x846CA68B)  # lowbias32's


def mix(x: UInt32[Array, "..."]) -> UInt32[Array, "..."]:
    """Wellons' lowbias32 hash of 32-bit words (a bijection)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(MULTIPLIERS[0])
    x = x ^ (x >> 15)
    x = x * jnp.uint32(MULTIPLIERS[1])
    return x ^ (x >> 16)


def bits(key: PRNGKeyArray, shape: tuple[int, ...]) -> UInt32[Array, "..."]:
    """Uniform 32-bit words of ``shape`` (module docstring)."""
    size = math.prod(shape)
    if size >= 2**32:
        raise ValueError(f"a draw of {size} entries exceeds the 32-bit counter")
    k = jax.random.bits(key, (2,), jnp.uint32)
    counter = jax.lax.iota(jnp.uint32, size).reshape(shape)
    return mix(mix(counter * jnp.uint32(GOLDEN) + k[0]) ^ k[1])


def uniform(key: PRNGKeyArray, shape: tuple[int, ...], dtype=jnp.float32) -> Float[Array, "..."]:
    """Uniform floats on [0, 1) with 23 random mantissa bits (the top 23 of each word):
    the float32 grid of step 2^-23, in any float dtype."""
    words = (bits(key, shape) >> 9) | jnp.uint32(0x3F800000)  # float32 in [1, 2)
    return (jax.lax.bitcast_convert_type(words, jnp.float32) - 1.0).astype(dtype)


def normal(key: PRNGKeyArray, shape: tuple[int, ...], dtype=jnp.float32) -> Float[Array, "..."]:
    """Standard normal draws by inversion, sqrt(2) erfinv(2u - 1) for u uniform on (0, 1)
    (the map ``jax.random.normal`` uses), u on the 2^-23 grid shifted by half a step so
    that neither end (erfinv = +-inf) is reached; the tails are therefore cut at
    |z| ~ 5.3."""
    u = uniform(key, shape, jnp.float32) + jnp.float32(2.0**-24)
    return (jnp.sqrt(jnp.float32(2.0)) * jax.lax.erf_inv(2.0 * u - 1.0)).astype(dtype)
