package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Does what the event asks (sleep, exit, allocate), else returns its environment's log stream. */
public class Misbehave implements RequestHandler<Map<String, Object>, String> {
    private static final List<byte[]> KEPT = new ArrayList<>();

    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        Object action = event.get("action");
        if ("sleep".equals(action)) {
            System.out.println("sleeping " + context.getAwsRequestId());
            try {
                Thread.sleep(((Number) event.get("seconds")).longValue() * 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if ("exit".equals(action)) {
            System.exit(3);
        } else if ("allocate".equals(action)) {
            int mb = ((Number) event.get("mb")).intValue();
            for (int i = 0; i < mb; i++) {
                KEPT.add(new byte[1024 * 1024]);
            }
            return "allocated " + mb;
        }
        return context.getLogStreamName();
    }
}
