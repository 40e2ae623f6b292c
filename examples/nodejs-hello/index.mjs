// A first Node.js Lambda function: greets whoever the event names, and counts warm invocations.
// As AWS's console creates it: an ES module (index.mjs) exporting an async handler.

let invocations = 0; // module state survives between invocations of a warm environment

export const handler = async (event, context) => {
  invocations += 1;
  const name = event?.name ?? 'world';
  console.log(`Greeting ${name} (invocation ${invocations} of this environment)`);
  return {
    message: `Hello, ${name}!`,
    function: context.functionName,
    requestId: context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
    warmInvocations: invocations,
    runtime: process.env.AWS_EXECUTION_ENV,
  };
};
