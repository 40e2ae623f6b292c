/**
 * An ES module resolution hook (module.register, Node 18.19+ / 20.6+): a bare specifier that
 * Node's own resolution does not find from the importing module ("@aws-sdk/client-lambda" from a
 * function's index.mjs with no node_modules of its own) is resolved once more from the directory
 * that holds the runtime's AWS SDK, as AWS's runtimes resolve the SDK they carry for ES modules.
 * Anything the function or its layers bring is found first; only what is missing falls back.
 */

let fallback = null; // file: URL of the directory whose node_modules holds the SDK

export async function initialize(data) {
  fallback = data && data.parentURL ? data.parentURL : null;
}

function isBare(specifier) {
  return !/^[./]/.test(specifier) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (fallback === null || !error || error.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw error;
    try {
      return await nextResolve(specifier, { ...context, parentURL: fallback });
    } catch {
      throw error; // the function's own error: it names the module as the function imported it
    }
  }
}
