/**
 * Lamina's Node.js runtime: the process that runs inside every nodejsNN.x execution environment.
 *
 * Started by bootstrap.sh as ``node [flags] index.cjs``. It patches the console (logging.cjs),
 * loads the function's handler (``_HANDLER``, from ``LAMBDA_TASK_ROOT``; loader.cjs), then loops on
 * the Lambda Runtime API at ``$AWS_LAMBDA_RUNTIME_API`` (runtime.cjs, context.cjs; frames.cjs speaks
 * Lamina's framed encoding of it, client.cjs HTTP/1.1).
 * What function code can observe (the handler forms, the context object, error documents and
 * their log lines, console output) follows AWS's own Node.js runtime interface client,
 * aws-lambda-ric 3.x, which the nodejs18.x to nodejs22.x managed runtimes run; nodejs24.x also
 * refuses callback handlers, as AWS's does.
 *
 * A failure to initialise (the module cannot be loaded, the handler is missing, top-level code
 * throws) is logged as "Uncaught Exception", posted to /runtime/init/error, and the process exits
 * with status 129.
 *
 * The runtime is CommonJS on purpose: a CommonJS module loads in about a third of the time of an
 * ES module, and a CommonJS function then starts without Node's ES module loader at all (~15 ms
 * less of every cold start). Function code that is an ES module is loaded with import() as usual.
 * Only Node's own modules are used, and nothing of the runtime is visible to function code except
 * the ``awslambda`` global that AWS's runtime also offers.
 */

'use strict';

const { FramedRuntimeApiClient } = require('./frames.cjs');
const { CallbackHandlerDeprecated, toErrorDocument, UnhandledPromiseRejection } = require('./errors.cjs');
const { loadHandler, streamingOf, useSdk } = require('./loader.cjs');
const { logError, patchConsole } = require('./logging.cjs');
const { Runtime } = require('./runtime.cjs');
const { installAwsLambdaGlobal } = require('./stream.cjs');

const CALLBACK_REMOVED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
  'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

function runtimeMajor() {
  const match = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || '');
  return match ? Number(match[1]) : 0;
}

// Where Lamina put the AWS SDK (bootstrap.sh has it on NODE_PATH already); not the function's to see.
const SDK_VARIABLE = '_LAMINA_SDK_NODE_MODULES';

async function main() {
  useSdk(process.env[SDK_VARIABLE]);
  delete process.env[SDK_VARIABLE];
  patchConsole();
  const client = new FramedRuntimeApiClient(process.env.AWS_LAMBDA_RUNTIME_API);
  let runtime = null;

  const initFailed = (error, label, exitCode) => {
    logError(label, error);
    client.postInitError(toErrorDocument(error), () => process.exit(exitCode));
  };
  process.on('uncaughtException', (error) => {
    if (runtime) runtime.fatal(error, 'Uncaught Exception', 129);
    else initFailed(error, 'Uncaught Exception', 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    if (runtime) runtime.fatal(error, 'Unhandled Promise Rejection', 128);
    else initFailed(error, 'Unhandled Promise Rejection', 128);
  });

  installAwsLambdaGlobal();
  let handler, streaming;
  try {
    // Function modules are required with this module's require: "Require stack" in a missing
    // module's error names $LAMBDA_RUNTIME_DIR/index.cjs, as AWS's names /var/runtime/index.mjs.
    handler = await loadHandler(require, process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || '');
    streaming = streamingOf(handler);
    if (runtimeMajor() >= 24 && handler.length >= 3 && !streaming.streaming) {
      throw new CallbackHandlerDeprecated(CALLBACK_REMOVED);
    }
  } catch (error) {
    initFailed(error, 'Uncaught Exception', 129);
    return;
  }
  runtime = new Runtime(client, handler, streaming);
  runtime.start();
}

main();
