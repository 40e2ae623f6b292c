# The function the Lambda console creates for a new Ruby function: handler lambda_function.lambda_handler.
require 'json'

def lambda_handler(event:, context:)
    # TODO implement
    { statusCode: 200, body: JSON.generate('Hello from Lambda!') }
end
