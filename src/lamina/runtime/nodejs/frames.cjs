/**
 * The Lambda Runtime API in Lamina's framed encoding, over one net.Socket: the same interface as
 * client.cjs's RuntimeApiClient (next, postResponse, postError, postInitError, afterPosts).
 *
 * The connection opens with ``LAMINA1\n``; then each side sends frames: a 4-byte big-endian
 * length of what follows, a kind byte, a body. ``N`` asks for the next event, ``R`` carries a
 * response (``id\n`` then the payload), ``X`` an error (``id\nerrorType\n`` then the document),
 * ``I`` an init error (``errorType\n`` then the document); the server answers only ``N``, with an
 * ``E`` frame (``Name: value\r\n`` header lines, ``\r\n``, then the payload).
 *
 * Nothing else is answered, so a result is not sent on its own: it waits (until the next
 * setImmediate turn at the latest) for the ``next()`` that follows it, and both go out in one
 * write. ``done`` of a post runs at once (the invocation loop then asks for the next event).
 * What must be known to have reached the server before the process exits (a report followed by an
 * exit, an init error) goes through ``afterPosts``/``postInitError``: the sending side is shut and
 * the server's end of the connection awaited; it has then read everything before it.
 *
 * A server that answers the preface with anything but an event frame does not speak frames: the
 * client then speaks HTTP (RuntimeApiClient) from then on. The socket is unref'd whenever no
 * event is awaited, as RuntimeApiClient's is.
 */

'use strict';

const { connect } = require('node:net');

const { RuntimeApiClient, RuntimeApiUnreachable } = require('./client.cjs');

const PREFACE = Buffer.from('LAMINA1\n', 'latin1');
const NEXT_FRAME = Buffer.from([0, 0, 0, 1, 0x4e]); // N
const KIND_EVENT = 0x45; // E
const KIND_RESPONSE = 0x52; // R
const KIND_ERROR = 0x58; // X
const KIND_INIT_ERROR = 0x49; // I
const LARGE = 65536; // payloads from this size are written as they are, not copied into one buffer

class FramedRuntimeApiClient {
  constructor(hostPort) {
    const colon = hostPort.lastIndexOf(':');
    this.hostPort = hostPort;
    this.hostname = hostPort.slice(0, colon);
    this.port = Number(hostPort.slice(colon + 1));
    this.socket = null;
    this.opened = false; // the preface went out on this socket
    this.confirmed = false; // the server has answered with a frame
    this.http = null; // the HTTP client, if the server does not speak frames
    this.pending = null; // the result frame's parts, waiting for the next N
    this.waiting = null; // {resolve, reject} of the next() in flight
    this.chunks = []; // what has arrived of the next frame
    this.received = 0;
    this.needed = 0; // the size of the frame being read, once its head is here
    this.closeWaiters = [];
    this.initError = null; // the init error sent, to post again over HTTP if need be
    this.flushPending = () => {
      if (this.pending !== null) this._write(false);
    };
  }

  /** The next invocation: ``{body, headers}`` (body a string, header names lower-cased). */
  next() {
    if (this.http !== null) return this.http.next();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this._write(true);
    });
  }

  postResponse(id, body, contentType, done) {
    if (this.http !== null) {
      this.http.postResponse(id, body, contentType, done);
      return;
    }
    this._hold(KIND_RESPONSE, `${id}\n`, body, done);
  }

  postError(id, document, done) {
    if (this.http !== null) {
      this.http.postError(id, document, done);
      return;
    }
    this._hold(KIND_ERROR, `${id}\n${errorTypeField(document)}\n`, serializeError(document), done);
  }

  /** Send the init error and run ``done`` once the server has read it (or is gone). */
  postInitError(document, done) {
    if (this.http !== null) {
      this.http.postInitError(document, done);
      return;
    }
    this.pending = frameParts(KIND_INIT_ERROR, `${errorTypeField(document)}\n`, serializeError(document));
    this.initError = { document, done };
    this._closeThen(done);
  }

  /** Run ``fn`` once the server has read every result sent so far (or is gone). */
  afterPosts(fn) {
    if (this.http !== null) this.http.afterPosts(fn);
    else if (this.socket === null && this.pending === null) fn();
    else this._closeThen(fn);
  }

  _hold(kind, fields, body, done) {
    this.pending = frameParts(kind, fields, body);
    process.nextTick(() => {
      done(); // typically schedules the next() that takes the result along
      setImmediate(this.flushPending);
    });
  }

  _write(withNext) {
    let socket = this.socket;
    if (socket === null) socket = this._connect();
    else if (socket.writableEnded) return; // ending before the process exits: nothing more goes out
    if (withNext) socket.ref();
    const parts = [];
    if (!this.opened) {
      this.opened = true;
      parts.push(PREFACE);
    }
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) parts.push(...pending);
    if (withNext) parts.push(NEXT_FRAME);
    if (pending === null || pending[1].length < LARGE) {
      socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    } else {
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
    }
  }

  _closeThen(fn) {
    this.closeWaiters.push(fn);
    if (this.closeWaiters.length > 1) return;
    if (this.pending !== null || this.socket === null) this._write(false);
    this.socket.ref(); // the process waits for the server's end
    this.socket.end(); // the server reads what came before, then ends its side
  }

  _connect() {
    const socket = connect({ host: this.hostname, port: this.port, noDelay: true });
    socket.setNoDelay(true);
    this.socket = socket;
    this.opened = false;
    this.chunks = [];
    this.received = 0;
    this.needed = 0;
    socket.on('data', (data) => {
      try {
        this._received(socket, data);
      } catch (err) {
        this._gone(socket, err);
      }
    });
    socket.on('error', (err) => this._gone(socket, err));
    socket.on('close', () => this._gone(socket, new Error('the Runtime API connection closed')));
    return socket;
  }

  _received(socket, data) {
    if (this.socket !== socket) return;
    this.chunks.push(data);
    this.received += data.length;
    while (this.received >= 5) {
      if (this.needed === 0) {
        if (this.chunks[0].length < 5) this.chunks = [Buffer.concat(this.chunks)];
        const head = this.chunks[0];
        if (head[4] !== KIND_EVENT) {
          if (!this.confirmed) {
            this._fallBack(socket);
            return;
          }
          throw new Error(`unexpected frame kind ${head[4]}`);
        }
        this.needed = head.readUInt32BE(0) + 4;
      }
      const size = this.needed;
      if (this.received < size) return;
      const buffer = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.received);
      this.confirmed = true;
      this.needed = 0;
      this.chunks = size < buffer.length ? [buffer.subarray(size)] : [];
      this.received = buffer.length - size;
      this._event(socket, buffer, size);
    }
  }

  _event(socket, buffer, size) {
    const headEnd = buffer.indexOf('\r\n\r\n', 5, 'latin1');
    if (headEnd < 0 || headEnd + 4 > size) throw new Error('malformed event frame');
    const headers = {};
    for (const line of buffer.toString('latin1', 5, headEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const waiting = this.waiting;
    this.waiting = null;
    if (this.pending === null) socket.unref(); // nothing in flight: never hold the event loop
    if (waiting !== null) waiting.resolve({ body: buffer.toString('utf8', headEnd + 4, size), headers });
  }

  /** The server answered the preface with something else than a frame: speak HTTP instead. */
  _fallBack(socket) {
    this.socket = null;
    socket.destroy();
    this.http = new RuntimeApiClient(this.hostPort);
    const waiting = this.waiting;
    const waiters = this.closeWaiters;
    const initError = this.initError;
    this.waiting = null;
    this.closeWaiters = [];
    this.pending = null; // only an init error can be pending before the first event
    if (initError !== null) this.http.postInitError(initError.document, () => waiters.forEach((fn) => fn()));
    else waiters.forEach((fn) => this.http.afterPosts(fn));
    if (waiting !== null) this.http.next().then(waiting.resolve, waiting.reject);
  }

  _gone(socket, err) {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const fn of waiters) fn(); // the server has read all it will ever read
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting !== null) waiting.reject(new RuntimeApiUnreachable(err.message));
  }
}

/** A frame as [head, body] Buffers: ``fields`` (ending in newlines) are in the head. */
function frameParts(kind, fields, body) {
  const bodyLength = Buffer.byteLength(body);
  const fieldsLength = Buffer.byteLength(fields);
  const head = Buffer.allocUnsafe(5 + fieldsLength);
  head.writeUInt32BE(1 + fieldsLength + bodyLength, 0);
  head[4] = kind;
  head.write(fields, 5, 'utf8');
  return [head, typeof body === 'string' ? Buffer.from(body, 'utf8') : body];
}

function serializeError(document) {
  try {
    return JSON.stringify(document);
  } catch (_) {
    return JSON.stringify({ errorType: String(document.errorType), errorMessage: String(document.errorMessage), trace: [] });
  }
}

// The error type is one line of the frame; an empty one has the server read the document's.
function errorTypeField(document) {
  return document.errorType ? String(document.errorType).replace(/[\r\n]/g, ' ') : '';
}

module.exports = { FramedRuntimeApiClient };
