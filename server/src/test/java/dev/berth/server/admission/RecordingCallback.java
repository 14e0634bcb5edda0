package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.failure.BrokerException;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Callback} that records every answer it gets, so tests can check it was told exactly once
 * and what. Thread-safe.
 *
 * @param <A> the answer: a {@link Decision} or a {@link BundleDecision}
 */
public class RecordingCallback<A> implements Callback<A> {
  private final List<Object> answers = new ArrayList<>(1);

  @Override
  public synchronized void decided(A answer) {
    answers.add(answer);
  }

  @Override
  public synchronized void failed(BrokerException error) {
    answers.add(error);
  }

  /** Every answer so far, in order: answers and {@link BrokerException}s. */
  public synchronized List<Object> answers() {
    return List.copyOf(answers);
  }

  public synchronized int answerCount() {
    return answers.size();
  }

  public synchronized boolean isAnswered() {
    return !answers.isEmpty();
  }

  /** The single answer, which must be of {@code type}. */
  protected <T> T only(Class<T> type) {
    Object answer = only();
    assertThat(answer).as("answer").isInstanceOf(type);
    return type.cast(answer);
  }

  /** The single answer, which must be a failure. */
  public BrokerException failure() {
    return only(BrokerException.class);
  }

  private synchronized Object only() {
    assertThat(answers).as("answers").hasSize(1);
    return answers.get(0);
  }
}
