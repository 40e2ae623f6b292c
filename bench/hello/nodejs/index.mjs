// The function the Lambda console creates for a new Node.js function: index.mjs, handler index.handler.
export const handler = async (event) => {
  // TODO implement
  const response = {
    statusCode: 200,
    body: JSON.stringify('Hello from Lambda!'),
  };
  return response;
};
