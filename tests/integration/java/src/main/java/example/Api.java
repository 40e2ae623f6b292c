package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.util.Map;

/** An API Gateway (REST, proxy integration) handler with aws-lambda-java-events' classes. */
public class Api implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {
    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent request, Context context) {
        APIGatewayProxyRequestEvent.ProxyRequestContext ctx = request.getRequestContext();
        String body = String.join("|",
                request.getHttpMethod(),
                request.getPath(),
                String.valueOf(request.getQueryStringParameters()),
                request.getHeaders().get("Host"),
                ctx.getRequestId(),
                ctx.getIdentity().getSourceIp(),
                ctx.getStage(),
                String.valueOf(request.getStageVariables()),
                request.getBody());
        return new APIGatewayProxyResponseEvent()
                .withStatusCode(201)
                .withHeaders(Map.of("Content-Type", "text/plain"))
                .withBody(body);
    }
}
