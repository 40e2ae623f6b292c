/**
 * The invocation loop: fetch the next event, run the handler, let its invocation post the result,
 * and only then fetch the next one (``scheduleNext``, run by the client once the post is answered,
 * or by "beforeExit" when a callback handler waits for the event loop to empty).
 *
 * Errors outside the handler's control flow (an uncaught exception in a timer, a promise rejected
 * with no handler) are reported for the invocation in progress, then the process exits (129 and
 * 128, as AWS's runtime does); Lamina then reports nothing more for it and replaces the
 * environment. If the Runtime API goes away, the environment is being stopped: exit.
 */

'use strict';

const { buildCallbackContext, buildStreamingContext, Invocation } = require('./context.cjs');
const { RuntimeApiUnreachable } = require('./client.cjs');
const { logError, setRequestId } = require('./logging.cjs');
const { BufferedResponseStream, ended } = require('./stream.cjs');

function noop() {}

class Runtime {
  constructor(client, handler, { streaming = false, highWaterMark } = {}) {
    this.client = client;
    this.handler = handler;
    this.streaming = streaming;
    this.highWaterMark = highWaterMark;
    this.current = null; // the invocation in progress, or the last one
    this.noop = noop;
    this.beforeExit = noop; // what to do once the event loop is empty
    this.scheduleNext = () => setImmediate(this.iterate);
    this.iterate = () => this.handleOnce().catch((err) => this.loopFailed(err));
    process.on('beforeExit', () => this.beforeExit());
  }

  start() {
    this.scheduleNext();
  }

  async handleOnce() {
    const { body, headers } = await this.client.next();
    const id = headers['lambda-runtime-aws-request-id'];
    if (!id) throw new Error('invocation id is missing or invalid');
    setRequestId(id, headers['lambda-runtime-aws-tenant-id']);
    const inv = new Invocation(this, id, headers);
    this.current = inv;
    if (this.streaming) return this.handleStreaming(inv, body);

    let callback = (err) => {
      this.beforeExit = noop;
      inv.fail(err);
    };
    try {
      // Neither a settled promise nor a callback by the time the event loop empties: answer null.
      this.beforeExit = () => {
        this.beforeExit = noop;
        inv.reported = true;
        this.client.postResponse(id, 'null', 'application/json', this.scheduleNext);
      };
      const event = JSON.parse(body);
      let context;
      [callback, context] = buildCallbackContext(inv);
      const result = this.handler(event, context, callback);
      if (result && typeof result.then === 'function') {
        result.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleStreaming(inv, body) {
    const stream = new BufferedResponseStream(this.highWaterMark);
    this.beforeExit = () => {
      this.beforeExit = noop;
      if (!inv.reported) inv.fail('Response stream is not finished.');
    };
    try {
      const context = buildStreamingContext(inv);
      const result = this.handler(JSON.parse(body), stream, context);
      if (!result || typeof result.then !== 'function') {
        inv.fail('Streaming does not support non-async handlers.');
        return;
      }
      if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
      await ended(stream);
      this.beforeExit = noop;
      inv.completeRaw(stream.body(), stream.contentType);
    } catch (err) {
      this.beforeExit = noop;
      if (!inv.reported) inv.fail(err);
    }
  }

  /** An error escaped the handler's control flow: report it for the current invocation, then exit. */
  fatal(error, label, exitCode) {
    const inv = this.current;
    if (inv === null || inv.reported) {
      // Nothing to report it to (between invocations, or its result is already posted).
      logError(label, error);
      this.client.afterPosts(() => process.exit(exitCode));
      return;
    }
    this.beforeExit = noop;
    // Exit once the server has read the error (a framed post is not answered).
    inv.fail(error, () => this.client.afterPosts(() => process.exit(exitCode)), label);
  }

  loopFailed(err) {
    if (err instanceof RuntimeApiUnreachable) {
      process.stderr.write(`Lamina runtime: the Runtime API is gone (${err.message}); exiting\n`);
      process.exit(1);
    }
    console.log(`Unexpected Top Level Error: ${err.toString()}`);
    this.fatal(err, 'Uncaught Exception', 129);
  }
}

module.exports = { Runtime };
