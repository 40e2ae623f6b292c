// A minimal HTTP/1.1 client for the Lambda Runtime API: one keep-alive connection, Nagle off,
// Content-Length or chunked bodies. (HttpWebRequest would cost hundreds of milliseconds of cold
// start on Mono, for nothing this needs.) The runtime speaks Lamina's framed encoding
// (FramedClient.cs) and uses this only with a server that does not.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace Lamina.Runtime
{
    /// <summary>The Runtime API cannot be reached: the environment is being torn down.</summary>
    internal sealed class RuntimeApiGoneException : Exception
    {
        public RuntimeApiGoneException(Exception cause) : base("The Runtime API went away.", cause)
        {
        }
    }

    /// <summary>The Runtime API answered something a runtime cannot go on after.</summary>
    internal sealed class RuntimeApiClientException : Exception
    {
        public RuntimeApiClientException(string message) : base(message)
        {
        }
    }

    internal sealed class HttpResponse
    {
        public int Status;
        public readonly Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        public byte[] Body;

        public string Header(string name)
        {
            string value;
            return Headers.TryGetValue(name, out value) ? value : null;
        }
    }

    internal sealed class Invocation
    {
        public string RequestId;
        public HttpResponse Response;
    }

    /// <summary>The Runtime API: the next event, and each invocation's result or error.</summary>
    internal interface IRuntimeApi : IDisposable
    {
        Invocation Next();

        void PostResponse(string requestId, byte[] body);

        void PostError(string requestId, string errorType, string errorJson);

        /// <summary>As AWS's .NET runtime reports an init error: the error document, no error type.</summary>
        void PostInitError(string errorJson);
    }

    internal sealed class RuntimeApiClient : IRuntimeApi
    {
        public const string HeaderRequestId = "Lambda-Runtime-Aws-Request-Id";
        public const string HeaderDeadlineMs = "Lambda-Runtime-Deadline-Ms";
        public const string HeaderFunctionArn = "Lambda-Runtime-Invoked-Function-Arn";
        public const string HeaderTraceId = "Lambda-Runtime-Trace-Id";
        public const string HeaderClientContext = "Lambda-Runtime-Client-Context";
        public const string HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity";
        private const string HeaderErrorType = "Lambda-Runtime-Function-Error-Type";
        private const string PathNext = "/2018-06-01/runtime/invocation/next";
        private const string PathInvocation = "/2018-06-01/runtime/invocation/";
        private const string PathInitError = "/2018-06-01/runtime/init/error";
        private const string ErrorContentType = "application/vnd.aws.lambda.error+json";

        private static readonly Encoding Latin1 = Encoding.GetEncoding("iso-8859-1");
        private readonly string _host;
        private readonly int _port;
        private IConnection _connection;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        /// <param name="address">host:port, as AWS_LAMBDA_RUNTIME_API gives it.</param>
        public RuntimeApiClient(string address)
        {
            int colon = address.LastIndexOf(':');
            _host = colon > 0 ? address.Substring(0, colon) : address;
            _port = colon > 0 ? int.Parse(address.Substring(colon + 1), CultureInfo.InvariantCulture) : 80;
        }

        public Invocation Next()
        {
            HttpResponse response = Send("GET", PathNext, null, null, null);
            if (response.Status != 200)
            {
                throw new RuntimeApiClientException("Failed to get next invocation. Http Response code: " + response.Status);
            }
            string requestId = response.Header(HeaderRequestId);
            if (string.IsNullOrEmpty(requestId))
            {
                throw new RuntimeApiClientException("Failed to find header " + HeaderRequestId + " in response");
            }
            return new Invocation { RequestId = requestId, Response = response };
        }

        public void PostResponse(string requestId, byte[] body)
        {
            Check(Send("POST", PathInvocation + requestId + "/response", body ?? new byte[0], "application/json", null), "invocation response");
        }

        public void PostError(string requestId, string errorType, string errorJson)
        {
            Check(Send("POST", PathInvocation + requestId + "/error", Encoding.UTF8.GetBytes(errorJson), ErrorContentType, errorType), "invocation error");
        }

        public void PostInitError(string errorJson)
        {
            Check(Send("POST", PathInitError, Encoding.UTF8.GetBytes(errorJson), ErrorContentType, null), "init error");
        }

        private static void Check(HttpResponse response, string what)
        {
            // 413: the result is over the size limit; the platform reports that to the caller and
            // this environment stays usable.
            if (response.Status >= 300 && response.Status != 413)
            {
                throw new RuntimeApiClientException("Failed to post " + what + ". Http response code: " + response.Status + ". " + Encoding.UTF8.GetString(response.Body));
            }
        }

        private HttpResponse Send(string method, string path, byte[] body, string contentType, string errorType)
        {
            bool retried = false;
            while (true)
            {
                bool reused = _connection != null;
                try
                {
                    if (_connection == null)
                    {
                        _connection = Connections.Open(_host, _port);
                        _start = _end = 0;
                    }
                    Write(method, path, body, contentType, errorType);
                    HttpResponse response = Read();
                    string connection = response.Header("Connection");
                    if (connection != null && connection.Equals("close", StringComparison.OrdinalIgnoreCase))
                    {
                        Close();
                    }
                    return response;
                }
                catch (Exception e) when (e is IOException || e is System.Net.Sockets.SocketException || e is ObjectDisposedException)
                {
                    // The server may have closed an idle keep-alive connection (a long invocation):
                    // try once more on a new one.
                    Close();
                    if (retried || !reused)
                    {
                        throw new RuntimeApiGoneException(e);
                    }
                    retried = true;
                }
            }
        }

        private void Close()
        {
            if (_connection != null)
            {
                _connection.Dispose();
                _connection = null;
            }
            _start = _end = 0;
        }

        public void Dispose()
        {
            Close();
        }

        private void Write(string method, string path, byte[] body, string contentType, string errorType)
        {
            var head = new StringBuilder(256);
            head.Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\nHost: ").Append(_host).Append(':').Append(_port)
                .Append("\r\nUser-Agent: lamina-dotnet\r\n");
            if (body != null)
            {
                head.Append("Content-Type: ").Append(contentType).Append("\r\nContent-Length: ").Append(body.Length).Append("\r\n");
            }
            if (errorType != null)
            {
                head.Append(HeaderErrorType).Append(": ").Append(errorType.Replace("\r", "").Replace("\n", "")).Append("\r\n");
            }
            head.Append("\r\n");
            byte[] headBytes = Encoding.UTF8.GetBytes(head.ToString());
            if (body == null || body.Length == 0)
            {
                SendAll(headBytes);
            }
            else if (body.Length <= 16 * 1024)
            {
                // One segment for the whole request: small requests are latency-bound.
                var all = new byte[headBytes.Length + body.Length];
                Buffer.BlockCopy(headBytes, 0, all, 0, headBytes.Length);
                Buffer.BlockCopy(body, 0, all, headBytes.Length, body.Length);
                SendAll(all);
            }
            else
            {
                SendAll(headBytes);
                SendAll(body);
            }
        }

        private void SendAll(byte[] data)
        {
            _connection.Send(data, 0, data.Length);
        }

        private HttpResponse Read()
        {
            var response = new HttpResponse();
            string status = ReadLine();
            string[] parts = status.Split(' ');
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(parts[1], out response.Status))
            {
                throw new IOException("Malformed HTTP status line: " + status);
            }
            while (true)
            {
                string line = ReadLine();
                if (line.Length == 0)
                {
                    break;
                }
                int colon = line.IndexOf(':');
                if (colon > 0)
                {
                    // Header values are UTF-8 (a client context may hold any text).
                    string value = Encoding.UTF8.GetString(Latin1.GetBytes(line.Substring(colon + 1).Trim()));
                    response.Headers[line.Substring(0, colon).Trim()] = value;
                }
            }
            string encoding = response.Header("Transfer-Encoding");
            string length = response.Header("Content-Length");
            if (encoding != null && encoding.IndexOf("chunked", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                response.Body = ReadChunked();
            }
            else if (length != null)
            {
                response.Body = ReadExactly(int.Parse(length, CultureInfo.InvariantCulture));
            }
            else
            {
                response.Body = new byte[0];
            }
            return response;
        }

        private byte[] ReadChunked()
        {
            var body = new MemoryStream();
            while (true)
            {
                string sizeLine = ReadLine();
                int semicolon = sizeLine.IndexOf(';');
                int size = int.Parse(semicolon >= 0 ? sizeLine.Substring(0, semicolon) : sizeLine, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while (ReadLine().Length > 0)
                    {
                    }
                    return body.ToArray();
                }
                byte[] chunk = ReadExactly(size);
                body.Write(chunk, 0, chunk.Length);
                ReadLine();
            }
        }

        private void Fill()
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_end == _buffer.Length)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n = _connection.Receive(_buffer, _end, _buffer.Length - _end);
            if (n <= 0)
            {
                throw new EndOfStreamException("The Runtime API closed the connection.");
            }
            _end += n;
        }

        private string ReadLine()
        {
            while (true)
            {
                for (int i = _start; i < _end; i++)
                {
                    if (_buffer[i] == (byte)'\n')
                    {
                        int stop = i > _start && _buffer[i - 1] == (byte)'\r' ? i - 1 : i;
                        string line = Latin1.GetString(_buffer, _start, stop - _start);
                        _start = i + 1;
                        return line;
                    }
                }
                if (_start == 0 && _end == _buffer.Length)
                {
                    throw new IOException("An HTTP header line is too long.");
                }
                Fill();
            }
        }

        private byte[] ReadExactly(int count)
        {
            var result = new byte[count];
            int have = Math.Min(count, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, 0, have);
            _start += have;
            while (have < count)
            {
                int n = _connection.Receive(result, have, count - have);
                if (n <= 0)
                {
                    throw new EndOfStreamException("The Runtime API closed the connection.");
                }
                have += n;
            }
            return result;
        }
    }
}
