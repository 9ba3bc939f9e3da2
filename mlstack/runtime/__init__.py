"""mlstack's runtime: what runs inside the jobs a plan schedules (the step adapter, and the image that
carries it). Modules here that run in a user's step image import only the standard library."""
