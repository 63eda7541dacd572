"""What can go wrong talking to a cluster, as exceptions whose message a responder can act on."""

from __future__ import annotations


class KubeError(Exception):
    """Base class; str(exc) is a plain sentence fit for a Slack reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(KubeError):
    def __init__(
        self,
        message: str,
        *,
        user: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        group: str | None = None,
        namespace: str | None = None,
    ) -> None:
        super().__init__(message)
        self.user = user
        self.verb = verb
        self.resource = resource
        self.group = group
        self.namespace = namespace


class Unauthorized(KubeError):
    """The credentials themselves were rejected (expired token, wrong cluster)."""


class ObjectNotFound(KubeError):
    def __init__(self, message: str, *, kind: str, name: str, namespace: str | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.namespace = namespace


class Conflict(KubeError):
    """Someone else changed the object between our read and our write."""


class ConcurrentChange(Conflict):
    """Re-reading after a conflict showed the part we meant to change has moved on."""


class RequestTimeout(KubeError):
    pass


class Unreachable(KubeError):
    pass


class ApiFailure(KubeError):
    """Any other API error (5xx, invalid request, ...)."""

    def __init__(
        self, message: str, *, status: int | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class RolloutRefused(KubeError):
    """The request makes no sense for this Deployment; nothing was sent to the cluster."""


class NoPreviousRevision(RolloutRefused):
    pass


class RevisionNotFound(RolloutRefused):
    pass


class AlreadyAtRevision(RolloutRefused):
    """kubectl's "skipped rollback": the target template is already the running one."""


class DeploymentPaused(RolloutRefused):
    pass


class ContainerNotFound(RolloutRefused):
    pass


class AmbiguousContainer(RolloutRefused):
    pass


class NothingToChange(RolloutRefused):
    pass
