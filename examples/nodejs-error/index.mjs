// A Node.js function that fails, to see Lambda's error shapes. The event picks the failure:
//   {}                        a thrown Error subclass   -> errorType "ValidationError"
//   {"orderId": "x", "mode": "reject"}   a promise nobody handles -> "Runtime.UnhandledPromiseRejection"
//                                        (the environment is replaced afterwards)
//   {"orderId": "x", "mode": "exit"}     process.exit(2)          -> "Runtime.ExitError"

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}

export const handler = async (event) => {
  if (!event.orderId) {
    throw new ValidationError('orderId is required');
  }
  if (event.mode === 'reject') {
    Promise.reject(new Error(`order ${event.orderId} was never processed`));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (event.mode === 'exit') {
    console.error('giving up on order', event.orderId);
    process.exit(2);
  }
  return { orderId: event.orderId, status: 'accepted' };
};
