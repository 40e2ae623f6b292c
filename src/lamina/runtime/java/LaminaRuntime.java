package lamina.runtime;

import com.amazonaws.services.lambda.runtime.api.client.AWSLambda;
import com.amazonaws.services.lambda.runtime.api.client.LambdaRequestHandler;
import com.amazonaws.services.lambda.runtime.api.client.logging.LambdaContextLogger;
import com.amazonaws.services.lambda.runtime.api.client.runtimeapi.LambdaRuntimeApiClient;
import com.amazonaws.services.lambda.runtime.api.client.util.ConcurrencyConfig;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * AWS's Java runtime (its {@code AWSLambda}) with the Runtime API spoken over Lamina's framed
 * channel ({@link FramedRuntimeApiClient}) instead of its native HTTP client.
 *
 * {@code main} makes the same steps as {@code AWSLambda.main}, in the same order, with AWS's own
 * code for each: its logger ({@code initLogger}), the function's class loader, handler and
 * standard streams ({@code getLambdaRequestHandlerObject}, which also reports an init error through
 * the client it is given), its concurrency configuration and its runtime loops
 * ({@code startRuntimeLoops}, protected). The only thing that differs is the client. The two set-up
 * steps AWS keeps private are called by reflection (the class path is one unnamed module, so no
 * module is opened for it): reproducing them through public classes instead would copy their code
 * and drift from it (the class loader is kept in a private field {@code getCustomerClassLoader}
 * returns, the logger's format and level come from package-private settings).
 *
 * Whenever this cannot be done (a client of another version without those methods, no usable
 * {@code AWS_LAMBDA_RUNTIME_API}), AWS's own {@code main} runs, over HTTP, before anything else
 * happened: the function runs exactly as it would without this class.
 */
public final class LaminaRuntime extends AWSLambda {
    private LaminaRuntime() {
    }

    public static void main(String[] args) throws Throwable {
        Method initLogger;
        Method handlerObject;
        try {
            initLogger = AWSLambda.class.getDeclaredMethod("initLogger");
            handlerObject = AWSLambda.class.getDeclaredMethod("getLambdaRequestHandlerObject",
                String.class, LambdaContextLogger.class, LambdaRuntimeApiClient.class);
            initLogger.setAccessible(true);
            handlerObject.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            AWSLambda.main(args);
            return;
        }
        FramedRuntimeApiClient client = FramedRuntimeApiClient.of(System.getenv("AWS_LAMBDA_RUNTIME_API"));
        if (client == null || args.length < 1) {
            AWSLambda.main(args);
            return;
        }
        try (LambdaContextLogger logger = (LambdaContextLogger) call(initLogger)) {
            LambdaRequestHandler handler = (LambdaRequestHandler) call(handlerObject, args[0], logger, client);
            try {
                startRuntimeLoops(handler, logger, new ConcurrencyConfig(logger), client);
            } finally {
                client.close(); // the error of a fatal exception (an OutOfMemoryError) ended the loop
            }
        } catch (IOException | ClassNotFoundException e) {
            throw new Error(e); // as AWS's main does
        }
    }

    /** {@code method} called on nothing (it is static), with what it throws thrown as it is. */
    private static Object call(Method method, Object... args) throws Throwable {
        try {
            return method.invoke(null, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
