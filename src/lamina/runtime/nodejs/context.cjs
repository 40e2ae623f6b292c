/**
 * One invocation: its context object, the callback handed to the handler, and how its result
 * reaches the Runtime API, following AWS's Node.js runtime (CallbackContext and InvokeContext):
 *
 *   async handler       its promise settles          -> the result or error is posted at once
 *   callback(err, res)  err given                     -> the error is posted at once
 *                       callbackWaitsForEmptyEventLoop (default true)
 *                                                     -> res is posted once the event loop is empty
 *                       set to false                  -> res is posted at once
 *   context.done / succeed / fail                     -> posted at once (legacy API)
 *   neither, and the event loop empties               -> null is posted
 *
 * Only the first of callback, done, succeed and fail counts; a second result is refused with a
 * console error. ``Invocation`` posts; ``Runtime`` (runtime.cjs) owns the loop and "beforeExit".
 */

'use strict';

const { toErrorDocument } = require('./errors.cjs');
const { logError } = require('./logging.cjs');

// The function's part of every context object: the environment does not change, so read it once.
const FUNCTION_VERSION = process.env.AWS_LAMBDA_FUNCTION_VERSION;
const FUNCTION_NAME = process.env.AWS_LAMBDA_FUNCTION_NAME;
const MEMORY_LIMIT_IN_MB = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
const LOG_GROUP_NAME = process.env.AWS_LAMBDA_LOG_GROUP_NAME;
const LOG_STREAM_NAME = process.env.AWS_LAMBDA_LOG_STREAM_NAME;

const ALREADY_DONE = 'Invocation has already been reported as done. Cannot call complete more than once per invocation.';

class Invocation {
  constructor(runtime, id, headers) {
    this.runtime = runtime;
    this.id = id;
    this.headers = headers;
    this.reported = false; // a result or an error was posted (or is being posted)
  }

  /** Post ``result`` as the response; throws if it cannot be serialized (the caller reports that). */
  complete(result) {
    if (this.reported) {
      console.error(ALREADY_DONE);
      return;
    }
    const body = serialize(result); // may throw: then nothing is posted, and the caller reports the error
    this.reported = true;
    this.runtime.client.postResponse(this.id, body, 'application/json', this.runtime.scheduleNext);
  }

  /** Post raw bytes as the response (a streaming handler's buffered output). */
  completeRaw(body, contentType) {
    if (this.reported) return;
    this.reported = true;
    this.runtime.client.postResponse(this.id, body, contentType, this.runtime.scheduleNext);
  }

  /** Log ``error`` ("Invoke Error") and post it; then ``then`` (by default: go on to the next event). */
  fail(error, then = this.runtime.scheduleNext, label = 'Invoke Error') {
    logError(label, error);
    this.reported = true;
    this.runtime.client.postError(this.id, toErrorDocument(error), then);
  }
}

function serialize(result) {
  try {
    return JSON.stringify(result === undefined ? null : result);
  } catch (_) {
    throw new Error('Unable to stringify response body');
  }
}

function parseJson(text, name) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

/** Copy the invocation's trace header to _X_AMZN_TRACE_ID, where X-Ray's SDK reads it. */
function forwardTraceId(headers) {
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
}

/**
 * The handler's ``callback`` and ``context`` for ``inv``. Throws (before anything is posted) if
 * the client context or Cognito identity header is not JSON.
 */
function buildCallbackContext(inv) {
  const runtime = inv.runtime;
  let waitForEmptyEventLoop = true;
  let finished = false;

  const done = (err, result) => {
    runtime.beforeExit = runtime.noop;
    if (err !== undefined && err !== null) inv.fail(err);
    else inv.complete(result);
  };
  const callback = (err, result) => {
    runtime.beforeExit = runtime.noop;
    if (err !== undefined && err !== null) inv.fail(err);
    else if (!waitForEmptyEventLoop) inv.complete(result);
    else runtime.beforeExit = () => setImmediate(() => inv.complete(result));
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => (err === undefined || err === null ? done('handled') : done(err, null));
  // Whichever is called first wins; a call that throws (an unserializable result) does not count.
  const once = (fn) =>
    function () {
      if (!finished) {
        fn.apply(null, arguments);
        finished = true;
      }
    };

  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once(succeed),
    fail: once(fail),
    done: once(done),
  };
  return [once(callback), attachInvocationData(context, inv)];
}

/** The streaming handler's context: the same data, without callback-era methods. */
function buildStreamingContext(inv) {
  let waitForEmptyEventLoop = true;
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
  };
  return attachInvocationData(context, inv);
}

function attachInvocationData(context, inv) {
  const headers = inv.headers;
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  forwardTraceId(headers);
  // The same fields, in the same order, as AWS's runtime: JSON.stringify(context) reads the same.
  context.functionVersion = FUNCTION_VERSION;
  context.functionName = FUNCTION_NAME;
  context.memoryLimitInMB = MEMORY_LIMIT_IN_MB;
  context.logGroupName = LOG_GROUP_NAME;
  context.logStreamName = LOG_STREAM_NAME;
  context.clientContext = parseJson(headers['lambda-runtime-client-context'], 'ClientContext');
  context.identity = parseJson(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity');
  context.invokedFunctionArn = headers['lambda-runtime-invoked-function-arn'];
  context.awsRequestId = inv.id;
  context.tenantId = headers['lambda-runtime-aws-tenant-id'];
  context.getRemainingTimeInMillis = function () {
    return deadline - Date.now();
  };
  return context;
}

module.exports = { Invocation, forwardTraceId, buildCallbackContext, buildStreamingContext };
