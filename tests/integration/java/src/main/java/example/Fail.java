package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** Throws: an unhandled exception, reported by the runtime in AWS's Java error shape. */
public class Fail implements RequestHandler<Map<String, Object>, String> {
    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        return check(String.valueOf(event.get("what")));
    }

    private static String check(String what) {
        if ("checked".equals(what)) {
            throw new IllegalStateException("not in this state", new java.io.IOException("disk on fire"));
        }
        throw new RuntimeException("boom: " + what);
    }
}
