"""The one compiled part of springblock: the CPU kernels of the MLP's BatchNorm +
LeakyReLU (validation/nets/batch_norm_kernel.cc), an XLA FFI library that JAX loads with
ctypes (springblock.validation.nets.batch_norm_kernel). Everything else is declared in
pyproject.toml.

The extension is optional: where no C++ compiler is found, or the build fails, pip installs
springblock without it and the MLP runs the same maths in jax.numpy (slower on the CPU).
The XLA FFI headers come with jaxlib (a build requirement, pyproject.toml)."""

import pathlib

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildWithXlaHeaders(build_ext):
    """build_ext with jaxlib's include directory (jax.ffi.include_dir()), found without
    importing jaxlib, and jaxlib's version compiled in (the library is loaded only into
    the jaxlib it was built against)."""

    def build_extensions(self):
        import importlib.metadata
        import importlib.util

        spec = importlib.util.find_spec("jaxlib")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("jaxlib is needed to build the kernels (its XLA FFI headers)")
        include = pathlib.Path(next(iter(spec.submodule_search_locations))) / "include"
        version = importlib.metadata.version("jaxlib")
        for extension in self.extensions:
            extension.include_dirs.append(str(include))
            extension.define_macros.append(("SPRINGBLOCK_JAXLIB_VERSION", f'"{version}"'))
        super().build_extensions()


KERNELS = Extension(
    "springblock.validation.nets._batch_norm_kernel",
    sources=["validation/nets/batch_norm_kernel.cc"],
    language="c++",
    # -fopenmp-simd: the kernels' `omp simd` reductions vectorise (no OpenMP runtime)
    extra_compile_args=["-O3", "-std=c++17", "-fopenmp-simd"],
    optional=True,
)

setup(ext_modules=[KERNELS], cmdclass={"build_ext": BuildWithXlaHeaders})
