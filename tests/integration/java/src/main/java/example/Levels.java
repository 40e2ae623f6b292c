package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;
import java.util.Map;

/** A line at each of LambdaLogger's levels, one without a level, and the standard streams. */
public class Levels implements RequestHandler<Map<String, Object>, String> {
    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        LambdaLogger logger = context.getLogger();
        logger.log("trace-line", LogLevel.TRACE);
        logger.log("debug-line", LogLevel.DEBUG);
        logger.log("info-line", LogLevel.INFO);
        logger.log("warn-line", LogLevel.WARN);
        logger.log("error-line", LogLevel.ERROR);
        logger.log("fatal-line", LogLevel.FATAL);
        logger.log("plain-line");
        System.out.println("stdout-line");
        System.err.println("stderr-line");
        return context.getAwsRequestId();
    }
}
