"""The real kubectl binaries for tests (see scenarios.kubectl, where the lookup lives)."""

from scenarios.kubectl import kubectl_binary, kubectl_dir, kubectl_versions

__all__ = ["kubectl_binary", "kubectl_dir", "kubectl_versions"]
