package dev.berth.common;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Why a file could not be read, in a few words for a one-line error (not the bare path). */
public final class FileProblems {
  private FileProblems() {}

  /** {@code no such file}, {@code permission denied}, or the system's reason. */
  public static String why(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason(); // e.g. "Is a directory"
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }
}
