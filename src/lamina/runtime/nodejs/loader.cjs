/**
 * Finding the function's handler from the handler setting ("index.handler", "src/app.lambda.main"),
 * the way AWS's Node.js runtime does:
 *
 *   "<module root>/<module>.<export path>"   module root: a directory under the task root
 *
 * The module is tried as, in order: the file "<module>" itself (CommonJS); "<module>.js" as
 * CommonJS unless the nearest package.json says "type": "module", else as an ES module;
 * "<module>.mjs" (ES module); "<module>.cjs" (CommonJS); and last Node's own resolution of
 * "<module>" from the task root (a package in node_modules, or on NODE_PATH).
 *
 * A SyntaxError while loading becomes Runtime.UserCodeSyntaxError, a missing CommonJS module
 * Runtime.ImportModuleError (messages "SyntaxError: ..." and "Error: Cannot find module ..."); any
 * other error is reported as it is (an ES module's missing import stays "Error", as on AWS).
 */

'use strict';

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const {
  HandlerNotFound, ImportModuleError, MalformedHandlerName, MalformedStreamingHandler, UserCodeSyntaxError,
} = require('./errors.cjs');

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const manifest = path.join(folder, 'package.json');
  if (existsSync(manifest)) {
    try {
      const pkg = JSON.parse(readFileSync(manifest));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasTypeModule(path.resolve(folder, '..'));
}

// Where the runtime's AWS SDK is (its node_modules), if Lamina installed one: set by index.cjs.
let sdkNodeModules = null;
let hooked = false;

function useSdk(nodeModules) {
  sdkNodeModules = nodeModules || null;
}

/** Before the first ES module is imported: resolve the SDK for ES modules too (sdk_hooks.mjs). */
function hookEsmResolution() {
  if (hooked || sdkNodeModules === null) return;
  hooked = true;
  const { register } = require('node:module');
  if (typeof register !== 'function') return; // Node before 18.19 / 20.6: require() only
  const parentURL = pathToFileURL(path.dirname(sdkNodeModules) + '/').href;
  register(pathToFileURL(path.join(__dirname, 'sdk_hooks.mjs')).href, { data: { parentURL } });
}

async function importFile(file) {
  if (!existsSync(file)) return undefined;
  hookEsmResolution();
  return import(pathToFileURL(file).href);
}

function requireFile(require, file) {
  return existsSync(file) ? require(file) : undefined;
}

async function loadModule(require, appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = requireFile(require, base);
  if (extensionless) return extensionless;
  const typeModule = existsSync(base + '.js') && hasTypeModule(path.dirname(base + '.js'));
  if (!typeModule) {
    const cjs = requireFile(require, base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (typeModule && (await importFile(base + '.js'))) ||
    (await importFile(base + '.mjs')) ||
    requireFile(require, base + '.cjs');
  if (loaded) return loaded;
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

/**
 * The handler function named by ``handlerString``, loaded from ``appRoot`` with ``require`` (the
 * runtime's own, so that "Require stack" in errors names the runtime's entry point, as on AWS).
 */
async function loadHandler(require, appRoot, handlerString) {
  if (handlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const name = path.basename(handlerString);
  const moduleRoot = handlerString.substring(0, handlerString.indexOf(name));
  const match = name.match(FUNCTION_EXPR);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, exportPath] = match;

  let userModule;
  try {
    userModule = await loadModule(require, appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const handler = exportPath.split('.').reduce((found, key) => found && found[key], userModule);
  if (!handler) throw new HandlerNotFound(`${handlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${handlerString} is not a function`);
  return handler;
}

/** Whether the handler was wrapped by awslambda.streamifyResponse, and its high-water mark. */
function streamingOf(handler) {
  const mode = handler[HANDLER_STREAMING];
  if (mode === undefined || mode === null || mode === false) return { streaming: false };
  if (mode !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
  const highWaterMark = parseInt(handler[HANDLER_HIGHWATERMARK]);
  return { streaming: true, highWaterMark: Number.isNaN(highWaterMark) ? undefined : highWaterMark };
}

module.exports = { HANDLER_STREAMING, HANDLER_HIGHWATERMARK, STREAM_RESPONSE, loadHandler, streamingOf, useSdk };
