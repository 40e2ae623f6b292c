package lamina.training;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The function of a class-data-sharing training run (cds.py): it takes the paths a typical
 * function takes through AWS's runtime interface client (a JSON object in, a POJO out, the
 * context and its logger), so that the classes they load are archived; the event {"exit": true}
 * ends the run, and the JVM writes the archive as it exits.
 */
public class Trainer implements RequestHandler<Map<String, Object>, Trainer.Result> {

    public static class Result {
        private String requestId;
        private long remainingMillis;
        private int memoryMb;
        private List<String> keys = new ArrayList<>();
        private Map<String, Object> event;

        public String getRequestId() { return requestId; }
        public void setRequestId(String requestId) { this.requestId = requestId; }
        public long getRemainingMillis() { return remainingMillis; }
        public void setRemainingMillis(long remainingMillis) { this.remainingMillis = remainingMillis; }
        public int getMemoryMb() { return memoryMb; }
        public void setMemoryMb(int memoryMb) { this.memoryMb = memoryMb; }
        public List<String> getKeys() { return keys; }
        public void setKeys(List<String> keys) { this.keys = keys; }
        public Map<String, Object> getEvent() { return event; }
        public void setEvent(Map<String, Object> event) { this.event = event; }
    }

    @Override
    public Result handleRequest(Map<String, Object> event, Context context) {
        if (Boolean.TRUE.equals(event.get("exit"))) {
            System.exit(0);
        }
        context.getLogger().log("training " + context.getFunctionName() + "\n");
        System.out.println("training " + context.getAwsRequestId());
        Result result = new Result();
        result.setRequestId(context.getAwsRequestId());
        result.setRemainingMillis(context.getRemainingTimeInMillis());
        result.setMemoryMb(context.getMemoryLimitInMB());
        result.getKeys().addAll(event.keySet());
        result.setEvent(event);
        return result;
    }
}
