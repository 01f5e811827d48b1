"""The authenticators' combined error reads like apimachinery's aggregate error."""

from metricsd.auth.authenticator import _aggregate


def test_one_error_as_is() -> None:
    assert _aggregate(["x509: certificate has expired"]) == "x509: certificate has expired"


def test_repeated_messages_collapse() -> None:
    err = "x509: certificate signed by unknown authority"
    assert _aggregate([err, err]) == err


def test_different_messages_in_brackets_once_each() -> None:
    assert _aggregate(["a", "b", "a"]) == "[a, b]"
