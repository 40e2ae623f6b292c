package example;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the event's "action" asks, to tell how the runtime reaches the Runtime API and that it
 *  does so as AWS's runtime does: the context, logs, large results, threads, garbage. */
public class Channel implements RequestHandler<Map<String, Object>, Object> {
    @Override
    public Object handleRequest(Map<String, Object> event, Context context) {
        String action = String.valueOf(event.get("action"));
        switch (action) {
            case "context":
                return context(context);
            case "log":
                LambdaLogger logger = context.getLogger();
                logger.log("logger-line\n");
                System.out.println("stdout-line");
                System.err.println("stderr-line");
                return "logged";
            case "big":
                int size = ((Number) event.get("bytes")).intValue();
                StringBuilder big = new StringBuilder(size);
                for (int i = 0; i < size; i++) {
                    big.append('x');
                }
                return big.toString();
            case "threads":
                return threads(context);
            case "garbage":
                return garbage(String.valueOf(event.get("kind")));
            default:
                throw new IllegalArgumentException("no action " + action);
        }
    }

    private static Map<String, Object> context(Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("awsRequestId", context.getAwsRequestId());
        out.put("invokedFunctionArn", context.getInvokedFunctionArn());
        out.put("remainingTimeInMillis", context.getRemainingTimeInMillis());
        out.put("traceHeader", System.getProperty("com.amazonaws.xray.traceHeader"));
        ClientContext client = context.getClientContext();
        if (client != null) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("custom", client.getCustom());
            c.put("env", client.getEnvironment());
            c.put("installationId", client.getClient() == null ? null : client.getClient().getInstallationId());
            out.put("clientContext", c);
        }
        CognitoIdentity identity = context.getIdentity();
        if (identity != null) {
            Map<String, Object> i = new LinkedHashMap<>();
            i.put("identityId", identity.getIdentityId());
            i.put("identityPoolId", identity.getIdentityPoolId());
            out.put("identity", i);
        }
        StackTraceElement[] stack = Thread.currentThread().getStackTrace();
        out.put("mainClass", stack[stack.length - 1].getClassName());
        out.put("jniLoaded", jniLoaded());
        return out;
    }

    /** Whether AWS's native HTTP client (its JNI library) is loaded in this process. */
    private static boolean jniLoaded() {
        try {
            return new String(Files.readAllBytes(Paths.get("/proc/self/maps")), StandardCharsets.UTF_8)
                .contains("libaws-lambda-jni");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object threads(Context context) {
        List<Thread> threads = new ArrayList<>();
        long[] sums = new long[8];
        for (int t = 0; t < sums.length; t++) {
            final int n = t;
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 50; i++) {
                    System.out.println("thread " + n + " line " + i);
                    context.getLogger().log("thread " + n + " logger " + i + "\n");
                    sums[n] += i;
                }
            });
            threads.add(thread);
            thread.start();
        }
        long total = 0;
        for (int t = 0; t < sums.length; t++) {
            try {
                threads.get(t).join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            total += sums[t];
        }
        return total;
    }

    /** Writes garbage to the Runtime API on a connection of its own, then answers normally. */
    private static String garbage(String kind) {
        String[] api = System.getenv("AWS_LAMBDA_RUNTIME_API").split(":");
        try (Socket socket = new Socket(api[0], Integer.parseInt(api[1]))) {
            OutputStream out = socket.getOutputStream();
            if ("frames".equals(kind)) {
                out.write("LAMINA1\n".getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[] {0, 0, 0, 4, 'Z', 1, 2, 3}); // an unknown kind
                byte[] result = "not-a-request-id\n{\"forged\": true}".getBytes(StandardCharsets.UTF_8);
                out.write(new byte[] {0, 0, 0, (byte) (result.length + 1), 'R'});
                out.write(result); // a result for no invocation
                out.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'R'}); // 4 GB, never sent
            } else {
                out.write("\u0000\u0001garbage\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
        } catch (java.io.IOException e) {
            return "refused: " + e;
        }
        return "wrote " + kind;
    }
}
