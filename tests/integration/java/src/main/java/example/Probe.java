package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/** Everything a function can see of its context and environment. */
public class Probe implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        LambdaLogger logger = context.getLogger();
        logger.log("logger-line " + context.getAwsRequestId());
        System.out.println("stdout-line");
        System.err.println("stderr-line");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("functionName", context.getFunctionName());
        out.put("functionVersion", context.getFunctionVersion());
        out.put("invokedFunctionArn", context.getInvokedFunctionArn());
        out.put("awsRequestId", context.getAwsRequestId());
        out.put("memoryLimitInMB", context.getMemoryLimitInMB());
        out.put("remainingTimeInMillis", context.getRemainingTimeInMillis());
        out.put("logGroupName", context.getLogGroupName());
        out.put("logStreamName", context.getLogStreamName());
        out.put("javaVersion", System.getProperty("java.specification.version"));
        out.put("userDir", System.getProperty("user.dir"));
        out.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        out.put("jvmArgs", ManagementFactory.getRuntimeMXBean().getInputArguments());
        out.put("env", System.getenv());
        return out;
    }
}
