package lamina.runtime;

import com.amazonaws.services.lambda.runtime.api.client.logging.LambdaContextLogger;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.DtoSerializers;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.LambdaError;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.LambdaRuntimeApiClient;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.LambdaRuntimeApiClientImpl;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.LambdaRuntimeClientMaxRetriesExceededException;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.dto.InvocationRequest;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Runtime API over Lamina's framed encoding, for AWS's runtime loop: one TCP connection per
 * runtime thread that starts with the preface {@code LAMINA1\n}, then frames both ways (a 4-byte
 * big-endian length of what follows, a kind letter, the body).
 *
 * <pre>
 *   N                 ready for the next event (every one after the first ends an invocation)
 *   R id\npayload     the invocation's result      X id\ntype\ndocument   its error
 *   I type\ndocument  the init error               E headers\r\n\r\npayload  an event (from the server)
 * </pre>
 *
 * The server answers nothing but the next {@code E}, so a result waits here and goes out with the
 * {@code N} that follows it, in one write: a warm invocation costs one write and one read. What is
 * sent just before the process exits (an init error; the error of a fatal exception, after which
 * AWS's loop ends: {@link #close}) is sent, then the connection is half-closed and the runtime
 * waits for the server to close it: the server has read it by then, before it learns that the
 * process ended.
 *
 * A server that closes the connection before it ever sent an event does not speak frames: from
 * then on every call goes to AWS's own client, over HTTP. So do SnapStart's calls, which Lamina
 * does not make.
 */
final class FramedRuntimeApiClient implements LambdaRuntimeApiClient {
    private static final byte[] PREFACE = "LAMINA1\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte NEXT = 'N', RESPONSE = 'R', ERROR = 'X', INIT_ERROR = 'I', EVENT = 'E';
    /** How long a runtime about to exit waits for the server to close the connection. */
    private static final int CLOSE_WAIT_MS = 5000;
    /** AWS's client's retries of "next" when several runtime threads run (multi-concurrency). */
    private static final long INITIAL_BACKOFF_MS = 100, MAX_BACKOFF_MS = 32768;
    private static final int MAX_RETRIES = 5;
    /** A frame larger than the heap could not be read: its length is not a frame's (an HTTP
     *  server's answer to the preface, say), and is not allocated. Events are as large as the
     *  deployment's payload limit allows (6 MB by default), so there is no lower bound. */
    private static final long MAX_FRAME = Math.min(Runtime.getRuntime().maxMemory(), Integer.MAX_VALUE - 16);

    private final String host;
    private final int port;
    private final String runtimeApi;
    private final ThreadLocal<Channel> channels = ThreadLocal.withInitial(Channel::new);
    private final Set<Channel> all = ConcurrentHashMap.newKeySet(); // every runtime thread's
    private volatile LambdaRuntimeApiClient http; // set once frames were refused

    private FramedRuntimeApiClient(String host, int port, String runtimeApi) {
        this.host = host;
        this.port = port;
        this.runtimeApi = runtimeApi;
    }

    /** A client for {@code runtimeApi} ("host:port"); null if it is not one. */
    static FramedRuntimeApiClient of(String runtimeApi) {
        if (runtimeApi == null) {
            return null;
        }
        int colon = runtimeApi.lastIndexOf(':');
        if (colon <= 0) {
            return null;
        }
        try {
            int port = Integer.parseInt(runtimeApi.substring(colon + 1));
            String host = runtimeApi.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            return port > 0 && port < 65536 ? new FramedRuntimeApiClient(host, port, runtimeApi) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private synchronized LambdaRuntimeApiClient http() {
        if (http == null) {
            http = new LambdaRuntimeApiClientImpl(runtimeApi);
        }
        return http;
    }

    // -- LambdaRuntimeApiClient -----------------------------------------------------------------

    @Override
    public InvocationRequest nextInvocation() throws IOException {
        LambdaRuntimeApiClient fallback = http;
        if (fallback != null) {
            return fallback.nextInvocation();
        }
        try {
            return channels.get().next();
        } catch (Refused refused) {
            return http().nextInvocation();
        }
    }

    @Override
    public InvocationRequest nextInvocationWithExponentialBackoff(LambdaContextLogger logger) throws Exception {
        return LambdaRuntimeApiClientImpl.getSupplierResultWithExponentialBackoff(
            logger, INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, MAX_RETRIES,
            () -> {
                try {
                    return nextInvocation();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            },
            e -> "Runtime API Client failed to get next invocation",
            new LambdaRuntimeClientMaxRetriesExceededException("Get Next Invocation"));
    }

    @Override
    public void reportInvocationSuccess(String requestId, byte[] response) throws IOException {
        LambdaRuntimeApiClient fallback = http;
        if (fallback != null) {
            fallback.reportInvocationSuccess(requestId, response);
            return;
        }
        byte[] id = line(requestId);
        channels.get().hold(RESPONSE, id.length + 1 + response.length, id, response);
    }

    @Override
    public void reportInvocationError(String requestId, LambdaError error) throws IOException {
        LambdaRuntimeApiClient fallback = http;
        if (fallback != null) {
            fallback.reportInvocationError(requestId, error);
            return;
        }
        byte[] id = line(requestId);
        byte[] type = line(error.errorType.getRapidError());
        byte[] document = DtoSerializers.serialize(error.errorRequest);
        channels.get().hold(ERROR, id.length + type.length + 2 + document.length, id, type, document);
    }

    @Override
    public void reportInitError(LambdaError error) throws IOException {
        LambdaRuntimeApiClient fallback = http;
        if (fallback != null) {
            fallback.reportInitError(error);
            return;
        }
        byte[] type = line(error.errorType.getRapidError());
        byte[] document = DtoSerializers.serialize(error.errorRequest);
        Channel channel = channels.get();
        channel.hold(INIT_ERROR, type.length + 1 + document.length, type, document);
        channel.flushAndWait();
    }

    @Override
    public void restoreNext() throws IOException {
        http().restoreNext();
    }

    @Override
    public void reportRestoreError(LambdaError error) throws IOException {
        http().reportRestoreError(error);
    }

    /** Send what the runtime threads still hold (the loops ended: the process is about to exit). */
    void close() {
        for (Channel channel : all) {
            channel.flushAndWait();
        }
    }

    /** A frame's text field: it ends at the first newline, so it has none. */
    private static byte[] line(String text) {
        String value = text == null ? "" : text;
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            value = value.replace("\r", "").replace("\n", "");
        }
        return value.getBytes(StandardCharsets.UTF_8);
    }

    /** The server closed a framed connection before it ever sent an event: it does not speak frames. */
    private static final class Refused extends IOException {
        Refused() {
            super("the Runtime API does not speak Lamina's framed encoding");
        }
    }

    /** One runtime thread's connection, and the result it holds until its next "next". */
    private final class Channel {
        private Socket socket;
        private OutputStream out;
        private InputStream in;
        private byte[] pending = new byte[0]; // frames to send with the next write
        private int pendingLength;
        private boolean served; // an event came over frames: the server speaks them
        private final byte[] head = new byte[5];

        Channel() {
            all.add(this);
        }

        /** Hold a frame of {@code kind} whose body is {@code parts} joined by newlines (the last
         *  is the payload); {@code length} is the body's length. */
        void hold(byte kind, int length, byte[]... parts) {
            int size = 5 + length;
            byte[] buffer = new byte[pendingLength + size + 5]; // room for the N that follows
            System.arraycopy(pending, 0, buffer, 0, pendingLength);
            int at = pendingLength;
            at = putHead(buffer, at, length + 1, kind);
            for (int i = 0; i < parts.length; i++) {
                System.arraycopy(parts[i], 0, buffer, at, parts[i].length);
                at += parts[i].length;
                if (i < parts.length - 1) {
                    buffer[at++] = '\n';
                }
            }
            pending = buffer;
            pendingLength = at;
        }

        /** Send what is held, with an N, and read the event that answers. A kept-alive connection
         *  the server closed meanwhile is retried once, on a new connection. */
        InvocationRequest next() throws IOException {
            if (pending.length < pendingLength + 5) {
                byte[] buffer = new byte[pendingLength + 5];
                System.arraycopy(pending, 0, buffer, 0, pendingLength);
                pending = buffer;
            }
            int length = putHead(pending, pendingLength, 1, NEXT);
            byte[] frames = pending;
            pending = new byte[0];
            pendingLength = 0;
            boolean retried = false;
            while (true) {
                boolean fresh = socket == null;
                boolean connected = false;
                try {
                    if (fresh) {
                        connect();
                    }
                    connected = true;
                    if (fresh) {
                        out.write(PREFACE);
                    }
                    out.write(frames, 0, length);
                    return readEvent();
                } catch (IOException e) {
                    disconnect();
                    if (connected && !served) {
                        throw new Refused();
                    }
                    if (retried || fresh) {
                        throw e;
                    }
                    retried = true;
                }
            }
        }

        /** Send what is held, half-close, and wait (a while) for the server to close. */
        void flushAndWait() {
            if (pendingLength == 0) {
                disconnect();
                return;
            }
            try {
                boolean fresh = socket == null;
                if (fresh) {
                    connect();
                    out.write(PREFACE);
                }
                out.write(pending, 0, pendingLength);
                pending = new byte[0];
                pendingLength = 0;
                socket.shutdownOutput();
                socket.setSoTimeout(CLOSE_WAIT_MS);
                byte[] drain = new byte[4096];
                while (in.read(drain) >= 0) {
                    // nothing is meant for a runtime that is leaving: wait for the end
                }
            } catch (SocketTimeoutException e) {
                // the server did not close: the process leaves anyway
            } catch (IOException e) {
                // the server is gone: nothing more to do
            } finally {
                disconnect();
            }
        }

        private void connect() throws IOException {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(host, port));
            } catch (IOException e) {
                s.close();
                throw e;
            }
            socket = s;
            out = s.getOutputStream();
            in = s.getInputStream();
        }

        private void disconnect() {
            Socket s = socket;
            socket = null;
            out = null;
            in = null;
            if (s != null) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing a broken socket: nothing to do
                }
            }
        }

        private InvocationRequest readEvent() throws IOException {
            while (true) {
                readFully(head, 5);
                long length = ((head[0] & 0xffL) << 24) | ((head[1] & 0xff) << 16) | ((head[2] & 0xff) << 8) | (head[3] & 0xff);
                if (length == 0 || length > MAX_FRAME || (!served && head[4] != EVENT)) {
                    throw new EOFException("the Runtime API does not answer with frames");
                }
                byte[] body = new byte[(int) (length - 1)];
                readFully(body, body.length);
                if (head[4] != EVENT) {
                    continue; // no other kind is meant for a runtime
                }
                served = true;
                return parseEvent(body);
            }
        }

        private void readFully(byte[] into, int count) throws IOException {
            int at = 0;
            while (at < count) {
                int n = in.read(into, at, count - at);
                if (n < 0) {
                    throw new EOFException("the Runtime API closed the connection");
                }
                at += n;
            }
        }
    }

    private static int putHead(byte[] buffer, int at, int length, byte kind) {
        buffer[at] = (byte) (length >>> 24);
        buffer[at + 1] = (byte) (length >>> 16);
        buffer[at + 2] = (byte) (length >>> 8);
        buffer[at + 3] = (byte) length;
        buffer[at + 4] = kind;
        return at + 5;
    }

    /** An {@code E} frame's body: {@code Name: value\r\n} lines, an empty line, then the payload;
     *  as AWS's client reads an event (an empty header is an absent one). */
    static InvocationRequest parseEvent(byte[] body) throws IOException {
        InvocationRequest request = new InvocationRequest();
        int pos = 0;
        while (true) {
            int eol = indexOfCrLf(body, pos);
            if (eol < 0) {
                throw new EOFException("a malformed event frame");
            }
            if (eol == pos) {
                pos = eol + 2;
                break;
            }
            int colon = indexOf(body, (byte) ':', pos, eol);
            if (colon > 0) {
                String name = new String(body, pos, colon - pos, StandardCharsets.ISO_8859_1);
                String value = text(body, colon + 1, eol).trim();
                header(request, name, value);
            }
            pos = eol + 2;
        }
        byte[] content = new byte[body.length - pos];
        System.arraycopy(body, pos, content, 0, content.length);
        request.setContent(content);
        if (request.getId() == null) {
            throw new EOFException("an event frame without a request id");
        }
        return request;
    }

    private static void header(InvocationRequest request, String name, String value) {
        if (value.isEmpty()) {
            return;
        }
        switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "lambda-runtime-aws-request-id":
                request.setId(value);
                break;
            case "lambda-runtime-trace-id":
                request.setXrayTraceId(value);
                break;
            case "lambda-runtime-invoked-function-arn":
                request.setInvokedFunctionArn(value);
                break;
            case "lambda-runtime-deadline-ms":
                try {
                    request.setDeadlineTimeInMs(Long.parseLong(value));
                } catch (NumberFormatException e) {
                    // AWS's client leaves an unreadable deadline at 0 too
                }
                break;
            case "lambda-runtime-client-context":
                request.setClientContext(value);
                break;
            case "lambda-runtime-cognito-identity":
                request.setCognitoIdentity(value);
                break;
            case "lambda-runtime-aws-tenant-id":
                request.setTenantId(value);
                break;
            default:
                break;
        }
    }

    /** A header value: UTF-8 if it is valid UTF-8, else Latin-1. */
    private static String text(byte[] data, int start, int end) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(data, start, end - start))
                .toString();
        } catch (CharacterCodingException e) {
            return new String(data, start, end - start, StandardCharsets.ISO_8859_1);
        }
    }

    private static int indexOfCrLf(byte[] data, int from) {
        for (int i = from; i + 1 < data.length; i++) {
            if (data[i] == '\r' && data[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] data, byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (data[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
