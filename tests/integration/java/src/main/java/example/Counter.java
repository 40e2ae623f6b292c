package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** Static state survives between invocations of a warm environment. */
public class Counter implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private static int count = 0;
    private static final long LOADED = System.nanoTime();

    static {
        System.out.println("init-line");
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        count++;
        return Map.of("count", count, "loaded", LOADED, "stream", context.getLogStreamName());
    }
}
