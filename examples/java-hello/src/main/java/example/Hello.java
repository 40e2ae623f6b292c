package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

// Handler value: example.Hello::handleRequest
public class Hello implements RequestHandler<Map<String, String>, String> {
    @Override
    public String handleRequest(Map<String, String> event, Context context) {
        LambdaLogger logger = context.getLogger();
        logger.log("Request " + context.getAwsRequestId() + " to " + context.getFunctionName() + "\n");
        String name = event.getOrDefault("name", "world");
        return "Hello, " + name + "!";
    }
}
