"""EKS platform components: cluster, system nodes, Karpenter, GPU capacity."""
