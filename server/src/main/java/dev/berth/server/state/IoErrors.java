package dev.berth.server.state;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Words for a file error, for an operator: the JDK's file exceptions carry only the path as their
 * message, so "cannot open state directory /x: /x" said what, not why. Stateless.
 */
public final class IoErrors {
  private IoErrors() {}

  /** {@code e} as {@code <file>: <what went wrong>}, e.g. {@code /x/lock: permission denied}. */
  public static String describe(IOException e) {
    if (e instanceof FileSystemException f) {
      String what;
      if (f instanceof NoSuchFileException) {
        what = "no such file or directory";
      } else if (f instanceof AccessDeniedException) {
        what = "permission denied";
      } else if (f instanceof NotDirectoryException) {
        what = "not a directory";
      } else if (f instanceof FileAlreadyExistsException) {
        what = "already exists";
      } else {
        what = f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
      }
      return (f.getFile() != null ? f.getFile() + ": " : "") + what;
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }
}
