"""AccessDenied's message as AWS words it for each reason a request is refused (pure)."""

from __future__ import annotations

from lamina.iam.evaluate import Decision


def message(principal_arn: str, action: str, resource: str, decision: Decision, same_account: bool) -> str:
    """``User: <arn> is not authorized to perform: <action> on resource: <arn> because ...``."""
    head = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if decision is Decision.IDENTITY_DENY:
        return f"{head} with an explicit deny in an identity-based policy"
    if decision is Decision.RESOURCE_DENY:
        return f"{head} with an explicit deny in a resource-based policy"
    side = "identity-based" if same_account else "resource-based"
    return f"{head} because no {side} policy allows the {action} action"
