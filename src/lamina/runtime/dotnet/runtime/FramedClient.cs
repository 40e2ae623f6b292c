// The Runtime API over Lamina's framed encoding: one TCP connection that starts with the preface
// "LAMINA1\n", then frames both ways (a 4-byte big-endian length, a kind letter, the body):
//
//   N                  ready for the next event (every one after the first ends an invocation)
//   R id\npayload      the invocation's result       X id\ntype\ndocument    its error
//   I type\ndocument   the init error                E headers\r\n\r\npayload  an event (from the server)
//
// The server answers nothing but the next E, so a result waits here and goes out with the N that
// follows it, in one write: a warm invocation costs one write and one read. An init error, after
// which the runtime exits, is sent, then the connection is half-closed and the runtime waits for the
// server to close it: the server has read the error by then, before it learns the process ended.
//
// A server that closes the connection before it ever sent an event does not speak frames: the
// runtime goes on over HTTP (RuntimeApiClient).

using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Lamina.Runtime
{
    internal sealed class FramedRuntimeApiClient : IRuntimeApi
    {
        private static readonly byte[] Preface = Encoding.ASCII.GetBytes("LAMINA1\n");
        private static readonly byte[] NextFrame = { 0, 0, 0, 1, (byte)'N' };
        private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, true);
        private const int OneWrite = 64 * 1024;  // frames up to this size go out in one buffer
        private const int CloseWaitMilliseconds = 5000;

        private readonly string _address;
        private readonly string _host;
        private readonly int _port;
        private IConnection _connection;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;
        private byte[] _pendingHead;  // the last result's frame up to its payload, sent with the next N
        private byte[] _pendingBody;
        private bool _served;  // an event came over frames: the server speaks them
        private RuntimeApiClient _http;  // the server does not speak frames

        /// <param name="address">host:port, as AWS_LAMBDA_RUNTIME_API gives it.</param>
        public FramedRuntimeApiClient(string address)
        {
            _address = address;
            int colon = address.LastIndexOf(':');
            _host = colon > 0 ? address.Substring(0, colon) : address;
            _port = colon > 0 ? int.Parse(address.Substring(colon + 1), CultureInfo.InvariantCulture) : 80;
        }

        public Invocation Next()
        {
            if (_http == null)
            {
                try
                {
                    return Exchange();
                }
                catch (FramesRefusedException)
                {
                    _http = new RuntimeApiClient(_address);
                }
            }
            return _http.Next();
        }

        public void PostResponse(string requestId, byte[] body)
        {
            if (_http != null)
            {
                _http.PostResponse(requestId, body);
                return;
            }
            Pend('R', Text(requestId) + "\n", body ?? new byte[0]);
        }

        public void PostError(string requestId, string errorType, string errorJson)
        {
            if (_http != null)
            {
                _http.PostError(requestId, errorType, errorJson);
                return;
            }
            Pend('X', Text(requestId) + "\n" + Text(errorType) + "\n", Encoding.UTF8.GetBytes(errorJson));
        }

        public void PostInitError(string errorJson)
        {
            if (_http != null)
            {
                _http.PostInitError(errorJson);
                return;
            }
            Pend('I', "\n", Encoding.UTF8.GetBytes(errorJson));  // no error type: the server reads the document's
            try
            {
                Flush();
            }
            catch (Exception e) when (IsBroken(e))
            {
                throw new RuntimeApiGoneException(e);
            }
        }

        public void Dispose()
        {
            Close();
            if (_http != null)
            {
                _http.Dispose();
            }
        }

        // -- sending --------------------------------------------------------------------------------

        private static string Text(string field)
        {
            return (field ?? string.Empty).Replace("\r", "").Replace("\n", "");
        }

        private void Pend(char kind, string fields, byte[] body)
        {
            byte[] text = Encoding.UTF8.GetBytes(fields);
            var head = new byte[5 + text.Length];
            WriteLength(head, 0, 1 + text.Length + body.Length);
            head[4] = (byte)kind;
            Buffer.BlockCopy(text, 0, head, 5, text.Length);
            _pendingHead = head;
            _pendingBody = body;
        }

        private static void WriteLength(byte[] buffer, int offset, int length)
        {
            buffer[offset] = (byte)(length >> 24);
            buffer[offset + 1] = (byte)(length >> 16);
            buffer[offset + 2] = (byte)(length >> 8);
            buffer[offset + 3] = (byte)length;
        }

        /// <summary>The preface (on a new connection), the pending result, then N if <paramref name="next"/>: one write when small.</summary>
        private void Send(bool fresh, bool next)
        {
            byte[] preface = fresh ? Preface : new byte[0];
            byte[] head = _pendingHead ?? new byte[0];
            byte[] body = _pendingBody ?? new byte[0];
            byte[] tail = next ? NextFrame : new byte[0];
            int total = preface.Length + head.Length + body.Length + tail.Length;
            if (total <= OneWrite)
            {
                var all = new byte[total];
                int at = 0;
                foreach (byte[] part in new[] { preface, head, body, tail })
                {
                    Buffer.BlockCopy(part, 0, all, at, part.Length);
                    at += part.Length;
                }
                _connection.Send(all, 0, total);
                return;
            }
            foreach (byte[] part in new[] { preface, head, body, tail })
            {
                if (part.Length > 0)
                {
                    _connection.Send(part, 0, part.Length);
                }
            }
        }

        /// <summary>Sends the pending frame, then waits (a while) for the server to close the connection.</summary>
        private void Flush()
        {
            bool fresh = _connection == null;
            if (fresh)
            {
                _connection = Connections.Open(_host, _port);
            }
            Send(fresh, false);
            _pendingHead = _pendingBody = null;
            _connection.ShutdownSend();
            _connection.WaitReadable(CloseWaitMilliseconds);
            Close();
        }

        // -- receiving ------------------------------------------------------------------------------

        /// <summary>Sends what is pending and N, and reads the event that answers them. A kept-alive
        /// connection the server closed meanwhile is retried once, on a new connection.</summary>
        private Invocation Exchange()
        {
            bool retried = false;
            while (true)
            {
                bool fresh = _connection == null;
                bool connected = false;
                try
                {
                    if (fresh)
                    {
                        _connection = Connections.Open(_host, _port);
                        _start = _end = 0;
                    }
                    connected = true;
                    Send(fresh, true);
                    Invocation invocation = ReadEvent();
                    _pendingHead = _pendingBody = null;
                    return invocation;
                }
                catch (Exception e) when (IsBroken(e))
                {
                    Close();
                    if (connected && !_served)
                    {
                        throw new FramesRefusedException();
                    }
                    if (retried || fresh)
                    {
                        throw new RuntimeApiGoneException(e);
                    }
                    retried = true;
                }
            }
        }

        private static bool IsBroken(Exception e)
        {
            return e is IOException || e is System.Net.Sockets.SocketException || e is ObjectDisposedException;
        }

        private Invocation ReadEvent()
        {
            while (true)
            {
                Fill(5);
                if (_buffer[_start] == (byte)'H' && _buffer[_start + 1] == (byte)'T' && _buffer[_start + 2] == (byte)'T' && _buffer[_start + 3] == (byte)'P')
                {
                    throw new IOException("The Runtime API does not speak frames.");  // an HTTP server's answer
                }
                int length = (_buffer[_start] << 24) | (_buffer[_start + 1] << 16) | (_buffer[_start + 2] << 8) | _buffer[_start + 3];
                byte kind = _buffer[_start + 4];
                if (length < 1)
                {
                    throw new IOException("A malformed frame.");
                }
                _start += 5;
                byte[] body = ReadExactly(length - 1);
                if (kind == (byte)'E')  // no other kind is meant for a runtime
                {
                    _served = true;
                    return ParseEvent(body);
                }
            }
        }

        /// <summary>"Name: value\r\n" lines, an empty line, then the payload.</summary>
        private static Invocation ParseEvent(byte[] body)
        {
            var response = new HttpResponse { Status = 200 };
            int pos = 0;
            while (true)
            {
                int eol = IndexOfLineEnd(body, pos);
                if (eol < 0)
                {
                    throw new IOException("A malformed event frame.");
                }
                if (eol == pos)
                {
                    pos += 2;
                    break;
                }
                string line = Text(body, pos, eol - pos);
                int colon = line.IndexOf(':');
                if (colon > 0)
                {
                    response.Headers[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
                }
                pos = eol + 2;
            }
            response.Body = new byte[body.Length - pos];
            Buffer.BlockCopy(body, pos, response.Body, 0, response.Body.Length);
            string requestId = response.Header(RuntimeApiClient.HeaderRequestId);
            if (string.IsNullOrEmpty(requestId))
            {
                throw new RuntimeApiClientException("Failed to find header " + RuntimeApiClient.HeaderRequestId + " in response");
            }
            return new Invocation { RequestId = requestId, Response = response };
        }

        /// <summary>A header line: UTF-8 if it is valid UTF-8, else Latin-1 (what the server writes today).</summary>
        private static string Text(byte[] data, int offset, int count)
        {
            try
            {
                return StrictUtf8.GetString(data, offset, count);
            }
            catch (DecoderFallbackException)
            {
                return Encoding.GetEncoding("iso-8859-1").GetString(data, offset, count);
            }
        }

        private static int IndexOfLineEnd(byte[] data, int from)
        {
            for (int i = from; i + 1 < data.Length; i++)
            {
                if (data[i] == (byte)'\r' && data[i + 1] == (byte)'\n')
                {
                    return i;
                }
            }
            return -1;
        }

        /// <summary>Until at least <paramref name="count"/> bytes (at most the buffer's size) are buffered.</summary>
        private void Fill(int count)
        {
            while (_end - _start < count)
            {
                if (_start > 0 && _start == _end)
                {
                    _start = _end = 0;
                }
                else if (_buffer.Length - _start < count)
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

        private void Close()
        {
            if (_connection != null)
            {
                _connection.Dispose();
                _connection = null;
            }
            _start = _end = 0;
        }
    }

    /// <summary>The server closed a framed connection before it sent any event: it speaks HTTP only.</summary>
    internal sealed class FramesRefusedException : Exception
    {
        public FramesRefusedException() : base("The Runtime API does not speak frames.")
        {
        }
    }
}
