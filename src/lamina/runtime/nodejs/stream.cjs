/**
 * Response streaming (``awslambda.streamifyResponse``) on Lamina: the handler writes to a stream
 * as on AWS, and the bytes are buffered and posted as one response once the stream has ended.
 * ``awslambda.HttpResponseStream.from(stream, prelude)`` writes its JSON prelude and the 8-byte
 * delimiter before the first chunk, as AWS's runtime does.
 */

'use strict';

const { Writable } = require('node:stream');

const { InvalidStreamingOperation } = require('./errors.cjs');
const { HANDLER_HIGHWATERMARK, HANDLER_STREAMING, STREAM_RESPONSE } = require('./loader.cjs');

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class BufferedResponseStream extends Writable {
  constructor(highWaterMark) {
    super(highWaterMark ? { highWaterMark } : undefined);
    this.chunks = [];
    this.contentType = DEFAULT_CONTENT_TYPE;
    this.started = false;
    this._onBeforeFirstWrite = undefined;
  }

  setContentType(contentType) {
    if (this.started) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  write(chunk, encoding, callback) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && chunk?.constructor !== Uint8Array) {
      chunk = JSON.stringify(chunk);
    }
    if (!this.started) {
      this.started = true;
      if (typeof this._onBeforeFirstWrite === 'function') this._onBeforeFirstWrite((first) => super.write(first));
    }
    return super.write(chunk, encoding, callback);
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') return super.end(chunk);
    if (chunk !== undefined && chunk !== null) {
      if (typeof encoding === 'function') {
        callback = encoding;
        encoding = undefined;
      }
      this.write(chunk, encoding);
    }
    return super.end(callback);
  }

  _write(chunk, _encoding, callback) {
    this.chunks.push(chunk);
    callback();
  }

  body() {
    return Buffer.concat(this.chunks);
  }
}

/** Resolves once ``stream`` has ended (or at once if it has); rejects if it is destroyed with an error. */
function ended(stream) {
  if (stream.writableFinished) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
  });
}

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

/** The ``awslambda`` global that AWS's runtime offers to function code. */
function installAwsLambdaGlobal() {
  const off = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    streamifyResponse(handler, options) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
      return handler;
    },
    HttpResponseStream,
  };
}

module.exports = { BufferedResponseStream, ended, HttpResponseStream, installAwsLambdaGlobal };
