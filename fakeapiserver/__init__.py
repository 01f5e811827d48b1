"""fakeapiserver: a small simulated Kubernetes control plane that the real kubectl talks to."""
