package dev.berth.server.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a reload when the process receives SIGHUP ({@code systemctl reload berth}, {@code kill
 * -HUP}). Uses {@code sun.misc.Signal} from the {@code jdk.unsupported} module, which every HotSpot
 * JVM on Linux has; it is reached reflectively so the build keeps compiling without warnings. Where
 * it is missing or the signal is taken, the daemon runs on without it and says so once.
 */
final class ReloadSignal {
  private static final Logger log = LoggerFactory.getLogger(ReloadSignal.class);

  private ReloadSignal() {}

  /** Installs {@code reload} as the SIGHUP handler; returns false when it could not. */
  static boolean install(Runnable reload) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object hup = signalClass.getConstructor(String.class).newInstance("HUP");
      Object handler =
          Proxy.newProxyInstance(
              ReloadSignal.class.getClassLoader(),
              new Class<?>[] {handlerClass},
              (proxy, method, args) -> {
                if (method.getName().equals("handle")) {
                  runSafely(reload);
                  return null;
                }
                return switch (method.getName()) {
                  case "hashCode" -> System.identityHashCode(proxy);
                  case "equals" -> proxy == args[0];
                  default -> "berth SIGHUP handler";
                };
              });
      Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
      Object previous = handle.invoke(null, hup, handler);
      // A process started with SIGHUP ignored (nohup, some supervisors) keeps it ignored: the JVM
      // then installs nothing and answers with the ignore handler, so a reload signal would be
      // dropped without a word.
      if (previous != null && previous == handlerClass.getField("SIG_IGN").get(null)) {
        log.warn(
            "SIGHUP is ignored in this process (started under nohup?), so it cannot reload the"
                + " configuration; use the UpdateLimits admin RPC, or start berth without nohup");
        return false;
      }
      return true;
    } catch (InvocationTargetException e) {
      log.warn(
          "SIGHUP reload is not available here ({}); use the UpdateLimits admin RPC instead",
          e.getCause().toString());
      return false;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      log.warn(
          "SIGHUP reload is not available here ({}); use the UpdateLimits admin RPC instead",
          e.toString());
      return false;
    }
  }

  private static void runSafely(Runnable reload) {
    try {
      reload.run();
    } catch (RuntimeException e) {
      log.error("config reload failed", e);
    }
  }
}
