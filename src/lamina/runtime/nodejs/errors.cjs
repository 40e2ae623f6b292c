/**
 * The errors Lamina's Node.js runtime reports, and how any thrown value becomes the Runtime API's
 * error document and the "Invoke Error" log line, as AWS's Node.js runtime (aws-lambda-ric 3.x,
 * the nodejs18.x to nodejs22.x managed runtimes) writes them:
 *
 *   Error (a user's, or one of ours below)   -> {errorType: name, errorMessage: message, trace: stack lines}
 *   anything else thrown or passed to callback -> {errorType: typeof value, errorMessage: String(value), trace: []}
 *
 *   Runtime.ImportModuleError        the handler's module, or a module it requires, cannot be found
 *   Runtime.UserCodeSyntaxError      loading the handler's module raised a SyntaxError
 *   Runtime.HandlerNotFound          the module has no such export, or it is not a function
 *   Runtime.MalformedHandlerName     the handler setting is not "<module>.<export>", or climbs with ".."
 *   Runtime.MalformedStreamingHandler / Runtime.InvalidStreamingOperation   response streaming misuse
 *   Runtime.UnhandledPromiseRejection   a promise rejected with no handler: reported, then the process exits
 *   Runtime.CallbackHandlerDeprecated   nodejs24.x and later: a handler that takes a callback
 */

'use strict';

const { types } = require('node:util');

const DEL = /\x7F/g; // ASCII DEL cannot travel in the Runtime API's documents; AWS escapes it

function looksLikeError(value) {
  return Boolean(
    value && typeof value.name === 'string' && value.name && typeof value.message === 'string' &&
      value.message && typeof value.stack === 'string' && value.stack,
  );
}

/** ``value`` if it is an Error, else an Error whose message is ``value`` converted to a string. */
function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

/** The error document posted to the Runtime API for a thrown (or callback-passed) value. */
function toErrorDocument(error) {
  try {
    if (types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: error.name?.replace(DEL, '%7F'),
        errorMessage: error.message?.replace(DEL, '%7F'),
        trace: error.stack.replace(DEL, '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(value) {
  if (!(value instanceof Error)) return value;
  const shown = Object.assign({ errorType: value.name, errorMessage: value.message, code: value.code }, value);
  if (typeof value.stack === 'string') shown.stack = value.stack.split('\n');
  return shown;
}

/** The text log form of an error: a tab, then its JSON with its own enumerable fields and stack lines. */
function toLogText(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch (_) {
    return '\t' + JSON.stringify(toErrorDocument(error));
  }
}

// Each class's name (on its prototype, so stacks start with it) is "Runtime.<class name>".
class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class CallbackHandlerDeprecated extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}

for (const cls of [
  ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError, MalformedStreamingHandler,
  InvalidStreamingOperation, CallbackHandlerDeprecated, UnhandledPromiseRejection,
]) {
  cls.prototype.name = `Runtime.${cls.name}`;
}

module.exports = {
  intoError, toErrorDocument, toLogText, ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, InvalidStreamingOperation, CallbackHandlerDeprecated, UnhandledPromiseRejection,
};
