"""mlstack: one spec for a whole ML platform, on SageMaker, Vertex AI, Azure ML or a local emulator."""

__version__ = "0.1.0"
