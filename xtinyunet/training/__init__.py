"""Training a configuration with nnU-Net: the run itself, this project's trainers and what a
trainer's name says."""
