"""``lamina queues``: the embedded SQS queues with their message counts (ListQueues, then
GetQueueAttributes for each)."""

from __future__ import annotations

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table

HEADERS = ("QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED", "DEAD-LETTER QUEUE")
_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
           "ApproximateNumberOfMessagesDelayed")  # fmt: skip


def show_queues(client: LambdaClient, console: Console) -> None:
    rows: list[dict[str, object]] = []
    table: list[list[str]] = []
    token: str | None = None
    while True:
        page = client.sqs("ListQueues", {"MaxResults": 1000, **({"NextToken": token} if token else {})})
        urls = page.get("QueueUrls")
        for url in urls if isinstance(urls, list) else []:
            answer = client.sqs("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
            attributes = answer.get("Attributes")
            found = {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {}
            name = str(url).rsplit("/", 1)[-1]
            dlq = found.get("RedrivePolicy", "")
            target = dlq.split('"deadLetterTargetArn":"', 1)[-1].split('"', 1)[0].rsplit(":", 1)[-1] if dlq else "-"
            rows.append({"name": name, "url": url, "attributes": found})
            table.append([name, *(found.get(c, "0") for c in _COUNTS), target])
        next_token = page.get("NextToken")
        if not isinstance(next_token, str) or not next_token or next_token == token:
            break
        token = next_token
    console.emit({"queues": rows})
    if not rows:
        console.say(f"No queues. Make one with: {client.aws_prefix()} sqs create-queue --queue-name NAME")
        return
    console.say(format_table(HEADERS, table))
