package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import java.util.ArrayList;
import java.util.List;

/**
 * An {@link AcquireCallback} that records every answer it gets, so tests can check it was told
 * exactly once and what. Thread-safe.
 */
public final class RecordingAcquireCallback implements AcquireCallback {
  private final List<Object> answers = new ArrayList<>(1);

  @Override
  public synchronized void decided(Decision decision) {
    answers.add(decision);
  }

  @Override
  public synchronized void failed(BrokerException error) {
    answers.add(error);
  }

  /** Every answer so far, in order: {@link Decision}s and {@link BrokerException}s. */
  public synchronized List<Object> answers() {
    return List.copyOf(answers);
  }

  public synchronized int answerCount() {
    return answers.size();
  }

  public synchronized boolean isAnswered() {
    return !answers.isEmpty();
  }

  /** The single answer, which must be a grant. */
  public Lease granted() {
    Object answer = only();
    assertThat(answer).as("answer").isInstanceOf(Decision.Granted.class);
    return ((Decision.Granted) answer).lease();
  }

  /** The single answer, which must be a refusal. */
  public Decision.Refused refused() {
    Object answer = only();
    assertThat(answer).as("answer").isInstanceOf(Decision.Refused.class);
    return (Decision.Refused) answer;
  }

  /** The single answer, which must be a failure. */
  public BrokerException failure() {
    Object answer = only();
    assertThat(answer).as("answer").isInstanceOf(BrokerException.class);
    return (BrokerException) answer;
  }

  private synchronized Object only() {
    assertThat(answers).as("answers").hasSize(1);
    return answers.get(0);
  }
}
