//! `lamina_native`: Lamina's native code, a Python extension module (PyO3, abi3).
//!
//! `signature`: a SigV4 signature recomputed by AWS's `aws-sigv4` crate (src/sigv4.rs), for
//! Lamina's verifier (`lamina/identity/sigv4.py`), which uses it only if it agrees with awscrt.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

mod dataplane;
mod plane;
mod sigv4;

/// The hex SigV4 signature over a request, signing exactly the headers in ``signed``; None when
/// declined (the caller then computes it another way). See lamina_native.pyi.
#[pyfunction]
#[pyo3(signature = (method, path, query, headers, access_key_id, secret_access_key, session_token, region,
                    service, time, payload, presigned_expires, s3, signed))]
#[allow(clippy::too_many_arguments)]
fn signature(method: &str, path: &str, query: &str, headers: Vec<(PyBackedStr, PyBackedStr)>,
             access_key_id: &str, secret_access_key: &str, session_token: Option<&str>, region: &str,
             service: &str, time: u64, payload: &str, presigned_expires: Option<u64>, s3: bool,
             signed: &str) -> Option<String> {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (&**name, &**value)).collect();
    let request = sigv4::Request { method, path, query, headers: &pairs };
    let scope = sigv4::Scope { access_key_id, secret_access_key, session_token, region, service, time };
    let form = match presigned_expires {
        Some(expires) => sigv4::Form::Query { expires },
        None => sigv4::Form::Headers,
    };
    sigv4::signature(&request, &scope, form, payload, s3, signed)
}

#[pymodule]
fn lamina_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(signature, module)?)?;
    module.add_class::<dataplane::DataPlane>()?;
    Ok(())
}
