// The Runtime API's TCP connection. To a numeric IPv4 address (what AWS_LAMBDA_RUNTIME_API always
// is) it is a socket made with libc's own calls: on Mono the first System.Net.Sockets.Socket costs
// ~250 ms of cold start (it loads and compiles the configuration system). Any other address goes
// through System.Net.Sockets.

using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lamina.Runtime
{
    internal interface IConnection : IDisposable
    {
        void Send(byte[] data, int offset, int count);

        /// <summary>Reads what is there (at least one byte); 0 when the peer has closed the connection.</summary>
        int Receive(byte[] buffer, int offset, int count);

        /// <summary>Sends no more (the peer reads the end of the stream after what was sent).</summary>
        void ShutdownSend();

        /// <summary>Waits until there is something to read or the peer has closed, at most <paramref name="milliseconds"/>.</summary>
        void WaitReadable(int milliseconds);
    }

    internal static class Connections
    {
        public static IConnection Open(string host, int port)
        {
            byte[] ipv4 = ParseIPv4(host);
            if (ipv4 != null)
            {
                return NativeTcpConnection.Open(ipv4, port);
            }
            return ManagedConnection.Open(host, port);
        }

        private static byte[] ParseIPv4(string host)
        {
            string[] parts = host.Split('.');
            if (parts.Length != 4)
            {
                return null;
            }
            var address = new byte[4];
            for (int i = 0; i < 4; i++)
            {
                if (!byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out address[i]))
                {
                    return null;
                }
            }
            return address;
        }
    }

    internal sealed unsafe class NativeTcpConnection : IConnection
    {
        private const int AF_INET = 2;
        private const int SOCK_STREAM = 1;
        private const int SOCK_CLOEXEC = 0x80000;  // not inherited by processes the function starts
        private const int IPPROTO_TCP = 6;
        private const int TCP_NODELAY = 1;
        private const int MSG_NOSIGNAL = 0x4000;  // a closed peer is an error, not a SIGPIPE
        private const int EINTR = 4;
        private const int SHUT_WR = 1;
        private const short POLLIN = 1;

        [DllImport("libc", SetLastError = true)]
        private static extern int socket(int domain, int type, int protocol);

        [DllImport("libc", SetLastError = true)]
        private static extern int connect(int fd, byte* address, int length);

        [DllImport("libc", SetLastError = true)]
        private static extern int setsockopt(int fd, int level, int name, int* value, int length);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr send(int fd, byte* buffer, UIntPtr length, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr recv(int fd, byte* buffer, UIntPtr length, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int shutdown(int fd, int how);

        [DllImport("libc", SetLastError = true)]
        private static extern int poll(long* fds, UIntPtr count, int timeout);  // one struct pollfd: 8 bytes

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);

        private int _fd;

        private NativeTcpConnection(int fd)
        {
            _fd = fd;
        }

        public static NativeTcpConnection Open(byte[] ipv4, int port)
        {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                throw Error("socket");
            }
            var connection = new NativeTcpConnection(fd);
            try
            {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
                byte* address = stackalloc byte[16];  // struct sockaddr_in
                for (int i = 0; i < 16; i++)
                {
                    address[i] = 0;
                }
                *(ushort*)address = AF_INET;
                address[2] = (byte)(port >> 8);
                address[3] = (byte)port;
                for (int i = 0; i < 4; i++)
                {
                    address[4 + i] = ipv4[i];
                }
                while (connect(fd, address, 16) != 0)
                {
                    if (Marshal.GetLastWin32Error() != EINTR)
                    {
                        throw Error("connect");
                    }
                }
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        private static IOException Error(string call)
        {
            return new IOException(call + " failed: errno " + Marshal.GetLastWin32Error());
        }

        public void Send(byte[] data, int offset, int count)
        {
            if (offset < 0 || count < 0 || offset + count > data.Length)
            {
                throw new ArgumentOutOfRangeException("count");
            }
            fixed (byte* start = data)
            {
                while (count > 0)
                {
                    long sent = (long)send(_fd, start + offset, (UIntPtr)count, MSG_NOSIGNAL);
                    if (sent < 0)
                    {
                        if (Marshal.GetLastWin32Error() == EINTR)
                        {
                            continue;
                        }
                        throw Error("send");
                    }
                    offset += (int)sent;
                    count -= (int)sent;
                }
            }
        }

        public int Receive(byte[] buffer, int offset, int count)
        {
            if (offset < 0 || count <= 0 || offset + count > buffer.Length)
            {
                throw new ArgumentOutOfRangeException("count");
            }
            fixed (byte* start = buffer)
            {
                while (true)
                {
                    long received = (long)recv(_fd, start + offset, (UIntPtr)count, 0);
                    if (received >= 0)
                    {
                        return (int)received;
                    }
                    if (Marshal.GetLastWin32Error() != EINTR)
                    {
                        throw Error("recv");
                    }
                }
            }
        }

        public void ShutdownSend()
        {
            if (shutdown(_fd, SHUT_WR) != 0)
            {
                throw Error("shutdown");
            }
        }

        public void WaitReadable(int milliseconds)
        {
            long pollfd = 0;  // struct pollfd { int fd; short events; short revents; }
            byte* field = (byte*)&pollfd;
            *(int*)field = _fd;
            *(short*)(field + 4) = POLLIN;
            poll(&pollfd, (UIntPtr)1, milliseconds);
        }

        public void Dispose()
        {
            if (_fd >= 0)
            {
                close(_fd);
                _fd = -1;
            }
        }
    }

    internal sealed class ManagedConnection : IConnection
    {
        private readonly Socket _socket;

        private ManagedConnection(Socket socket)
        {
            _socket = socket;
        }

        public static ManagedConnection Open(string host, int port)
        {
            IPAddress address;
            if (!IPAddress.TryParse(host.Trim('[', ']'), out address))
            {
                address = Dns.GetHostAddresses(host)[0];
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.NoDelay = true;
            try
            {
                socket.Connect(new IPEndPoint(address, port));
            }
            catch
            {
                socket.Close();
                throw;
            }
            return new ManagedConnection(socket);
        }

        public void Send(byte[] data, int offset, int count)
        {
            while (count > 0)
            {
                int sent = _socket.Send(data, offset, count, SocketFlags.None);
                offset += sent;
                count -= sent;
            }
        }

        public int Receive(byte[] buffer, int offset, int count)
        {
            return _socket.Receive(buffer, offset, count, SocketFlags.None);
        }

        public void ShutdownSend()
        {
            _socket.Shutdown(SocketShutdown.Send);
        }

        public void WaitReadable(int milliseconds)
        {
            _socket.Poll(milliseconds * 1000, SelectMode.SelectRead);
        }

        public void Dispose()
        {
            _socket.Close();
        }
    }
}
