"""The width candidates as nnU-Net plans configurations: the candidates' own plans file beside
nnU-Net's, each configuration as nnU-Net resolves it, and the network it describes."""
