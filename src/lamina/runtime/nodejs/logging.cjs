/**
 * The console, as AWS's Node.js runtime patches it: every console.trace/debug/info/log/warn/error
 * (and console.fatal) writes one line to stdout,
 *
 *   text (default):                <ISO time>\t<request id>\t<LEVEL>\t<util.format(args)>
 *   AWS_LAMBDA_LOG_FORMAT=JSON:    {"timestamp", "level", "requestId", "message", [errorType, errorMessage, stackTrace]}
 *
 * with every newline inside the message written as "\r", so a message stays one log line. Levels
 * below AWS_LAMBDA_LOG_LEVEL (default TRACE: everything) are dropped. Before the first invocation
 * the request id is "undefined", as on AWS.
 */

'use strict';

const { format } = require('node:util');

const { intoError, toLogText } = require('./errors.cjs');

// Where the current request id lives (the same global symbol as AWS's runtime, which tools read).
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');

function setRequestId(id, tenantId) {
  globalThis[REQUEST_ID] = id;
  globalThis[TENANT_ID] = tenantId;
}

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

const NEWLINES = /\n/g;
const stdout = process.stdout;

function writeText(level, message, params) {
  const text = params.length === 0 ? format(message) : format(message, ...params);
  const line = `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level.name}\t${text}`;
  stdout.write(line.replace(NEWLINES, '\r') + '\n');
}

function errorFields(error) {
  return Object.assign(
    {
      errorType: error?.constructor?.name ?? 'UnknownError',
      errorMessage: error.message,
      stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : error.stack,
    },
    error,
  );
}

function jsonLine(level, message, params) {
  const record = { timestamp: new Date().toISOString(), level: level.name, requestId: globalThis[REQUEST_ID] };
  const tenantId = globalThis[TENANT_ID];
  if (tenantId !== undefined && tenantId !== null) record.tenantId = tenantId;
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record, (_key, value) => (value instanceof Error ? errorFields(value) : value));
    } catch (_) {
      record.message = format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = format(message, ...params);
  for (const param of params) {
    if (param instanceof Error) {
      record.errorType = param?.constructor?.name ?? 'UnknownError';
      record.errorMessage = param.message;
      record.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(record);
}

function writeJson(level, message, params) {
  stdout.write(jsonLine(level, message, params).replace(NEWLINES, '\r') + '\n');
}

function noop() {}

let json = false;

/** Replace the console's methods; read the log format and level from the environment once. */
function patchConsole() {
  json = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const minimum = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? LEVELS.TRACE;
  const write = json ? writeJson : writeText;
  const method = (level) =>
    level.priority >= minimum.priority ? (message, ...params) => write(level, message, params) : noop;
  console.trace = method(LEVELS.TRACE);
  console.debug = method(LEVELS.DEBUG);
  console.info = method(LEVELS.INFO);
  console.log = console.info;
  console.warn = method(LEVELS.WARN);
  console.error = method(LEVELS.ERROR);
  console.fatal = (message, ...params) => write(LEVELS.FATAL, message, params);
}

/** Log an error the runtime reports ("Invoke Error", "Uncaught Exception", ...) at ERROR level. */
function logError(label, error) {
  if (json) {
    console.error(intoError(error));
  } else {
    console.error(label, toLogText(intoError(error)));
  }
}

module.exports = { setRequestId, patchConsole, logError };
