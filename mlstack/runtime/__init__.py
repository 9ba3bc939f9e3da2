"""What runs where the platform runs: code shared by the emulator and the jobs each cloud's plan
schedules (the SageMaker monitoring job, the Vertex pipeline tasks), so every target computes the same."""
