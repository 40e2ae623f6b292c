"""CloudFormation-compatible stacks (docs/cloudformation.md): templates, intrinsic functions,
resource providers over Lamina's own services, and the stacks' control plane."""
