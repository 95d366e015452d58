"""Deterministic synthetic clinics (pure Python: numpy and pandas, no Django).

``generate_staff`` and ``generate_clients`` turn a seed into therapists, clients,
episodes, sessions and item-level answers drawn from latent trust, alliance and symptom
trajectories. ``rapport.clinic.synth_writer`` stores them. See docs/synthetic-data.md.
"""

from rapport.synth.generator import ClinicChunk, SynthConfig, generate_clients, generate_staff

__all__ = ["ClinicChunk", "SynthConfig", "generate_clients", "generate_staff"]
