"""Delegated authentication and authorization, as k8s.io/apiserver does it for metrics-server.

``requestheader`` (front-proxy settings from flags or the ``extension-apiserver-authentication``
ConfigMap), ``x509verify`` (which CA signed a client certificate, Go's error texts),
``reviews`` (TokenReview / SubjectAccessReview calls), ``authenticator`` (the union chain:
request-header, client certificate, bearer token, then anonymous) and ``authorizer``
(system:masters, always-allowed paths, SubjectAccessReview with TTL caches; 401/403 bodies).
"""

from metricsd.auth.authenticator import (
    ANONYMOUS,
    AuthenticationResult,
    Authenticator,
    UserInfo,
    unauthorized_body,
)
from metricsd.auth.authorizer import (
    Attributes,
    Authorizer,
    Decision,
    forbidden_body,
    request_attributes,
)
from metricsd.auth.requestheader import AuthenticationConfig, RequestHeaderConfig

__all__ = [
    "ANONYMOUS",
    "Attributes",
    "AuthenticationConfig",
    "AuthenticationResult",
    "Authenticator",
    "Authorizer",
    "Decision",
    "RequestHeaderConfig",
    "UserInfo",
    "forbidden_body",
    "request_attributes",
    "unauthorized_body",
]
