# A first Ruby function for Lambda: greets whoever the event names, and counts warm invocations.
require 'json'

$invocations = 0 # global state survives between invocations of a warm environment

def lambda_handler(event:, context:)
  $invocations += 1
  name = event.is_a?(Hash) && event['name'] ? event['name'] : 'world'
  puts "Greeting #{name} (invocation #{$invocations} of this environment)"
  {
    statusCode: 200,
    body: JSON.generate(message: "Hello, #{name}!"),
    function: context.function_name,
    requestId: context.aws_request_id,
    remainingMs: context.get_remaining_time_in_millis,
    ruby: RUBY_VERSION,
    runtime: ENV['AWS_EXECUTION_ENV']
  }
end
