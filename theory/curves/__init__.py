"""Learning curves of wide nets: :mod:`spectrum` (Funk-Hecke spectra on the sphere) and
:mod:`generalization` (equivalent kernel of Cohen, Malka & Ringel with its 1/N correction;
self-consistent theory of Canatar, Bordelon & Pehlevan)."""
