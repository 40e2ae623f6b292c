"""``lamina iot rules``: AWS IoT topic rules, their topic filter, target and state, and whether
Lamina is connected to the MQTT broker they listen to."""

from __future__ import annotations

from typing import Mapping, Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table

HEADERS = ("RULE", "TOPIC FILTER", "TARGET", "STATE")
NO_BROKER = "not configured: rules will not fire until the server's LAMINA_MQTT_URL names an MQTT broker"


def rule_rows(rules: Sequence[Mapping[str, object]]) -> list[list[str]]:
    rows = []
    for rule in sorted(rules, key=lambda r: str(r.get("ruleName", ""))):
        actions = rule.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        body = action.get("lambda")
        target = str(body.get("functionArn", "-")) if isinstance(body, dict) else "-"
        name = target.split(":function:", 1)[1] if ":function:" in target else target
        state = "DISABLED" if rule.get("ruleDisabled") is True else "ENABLED"
        rows.append([str(rule.get("ruleName", "-")), str(rule.get("topicPattern", "-")), name, state])
    return rows


def broker_line(status: Mapping[str, object]) -> str:
    if status.get("configured") is not True:
        return f"broker: {NO_BROKER}"
    subscriptions = status.get("subscriptions")
    count = len(subscriptions) if isinstance(subscriptions, list) else 0
    if status.get("connected") is True:
        held = status.get("held")
        waiting = f"; {held} held (their functions' queues refused them for now)" if isinstance(held, int) and held else ""
        return f"broker: {status.get('url')} connected, {count} subscription{'s' if count != 1 else ''}{waiting}"
    error = status.get("lastError")
    return f"broker: {status.get('url')} NOT connected" + (f" ({error})" if error else "")


def show_iot_rules(client: LambdaClient, console: Console) -> None:
    rules = list(client.iot_rules())
    status = client.iot_broker()
    console.emit({"rules": rules, "broker": status})
    if rules:
        console.say(format_table(HEADERS, rule_rows(rules)))
    else:
        console.say("No IoT rules. Make one from a rule.json (docs/iot.md has one) with:")
        console.say(f"  {client.aws_prefix()} iot create-topic-rule --rule-name NAME --topic-rule-payload file://rule.json")
    console.say(broker_line(status))
